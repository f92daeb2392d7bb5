// What a flow folder hands to the engine: its flows and the actions, guards and validators
// they call by name. The composition root combines the bundles of every flow folder.
import type { ActionRegistry, GuardRegistry, ValidatorRegistry } from "./actions.ts";
import type { FlowSpec } from "./flow-schema.ts";

export interface FlowBundle {
  flows: readonly (FlowSpec<any, any> | unknown)[];
  actions?: ActionRegistry;
  guards?: GuardRegistry;
  validators?: ValidatorRegistry;
}

/** Merges bundles; an action, guard or validator name defined twice is a programming error and throws. */
export function combineFlowBundles(...bundles: FlowBundle[]): Required<FlowBundle> {
  const combined = { flows: [] as unknown[], actions: {} as ActionRegistry, guards: {} as GuardRegistry, validators: {} as ValidatorRegistry };
  for (const bundle of bundles) {
    combined.flows.push(...bundle.flows);
    const registries = [
      ["action", bundle.actions, combined.actions],
      ["guard", bundle.guards, combined.guards],
      ["validator", bundle.validators, combined.validators],
    ] as const;
    for (const [kind, registry, target] of registries) {
      for (const [name, fn] of Object.entries(registry ?? {})) {
        if (Object.hasOwn(target, name)) throw new Error(`${kind} "${name}" is defined by two flow bundles`);
        (target as Record<string, unknown>)[name] = fn;
      }
    }
  }
  return combined;
}
