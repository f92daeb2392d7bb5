// What a flow folder hands to the engine: its flows and the actions and validators they
// call by name. The composition root combines the bundles of every flow folder.
import type { ActionRegistry, ValidatorRegistry } from "./actions.ts";
import type { FlowSpec } from "./flow-schema.ts";

export interface FlowBundle {
  flows: readonly (FlowSpec<any> | unknown)[];
  actions?: ActionRegistry;
  validators?: ValidatorRegistry;
}

/** Merges bundles; an action or validator name defined twice is a programming error and throws. */
export function combineFlowBundles(...bundles: FlowBundle[]): Required<FlowBundle> {
  const combined = { flows: [] as unknown[], actions: {} as ActionRegistry, validators: {} as ValidatorRegistry };
  for (const bundle of bundles) {
    combined.flows.push(...bundle.flows);
    for (const [kind, registry] of [["action", bundle.actions], ["validator", bundle.validators]] as const) {
      const target: Record<string, unknown> = kind === "action" ? combined.actions : combined.validators;
      for (const [name, fn] of Object.entries(registry ?? {})) {
        if (Object.hasOwn(target, name)) throw new Error(`${kind} "${name}" is defined by two flow bundles`);
        target[name] = fn;
      }
    }
  }
  return combined;
}
