/**
 * Signal keys kept in memory and a quiet logger: what the emulator's customers use for their
 * own Signal state, and what tests give a socket that needs no persistence.
 */
import type { SignalDataTypeMap, SignalKeyStore } from "baileys";

/** Baileys' logger interface, saying nothing (set WA_EMULATOR_LOG=1 to see Baileys' warnings). */
export const quietLogger: any = {
  level: process.env.WA_EMULATOR_LOG ? "warn" : "silent",
  child() { return quietLogger; },
  trace() {}, debug() {}, info() {},
  warn: (...args: unknown[]) => process.env.WA_EMULATOR_LOG && console.warn(...args),
  error: (...args: unknown[]) => process.env.WA_EMULATOR_LOG && console.error(...args),
};

/** Signal keys in a Map; `null` deletes, as Baileys expects. */
export function memoryKeys(): SignalKeyStore {
  const data = new Map<string, unknown>();
  return {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const found: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const value = data.get(`${type}/${id}`);
        if (value !== undefined) found[id] = value as SignalDataTypeMap[T];
      }
      return found;
    },
    async set(values) {
      for (const [type, entries] of Object.entries(values)) {
        for (const [id, value] of Object.entries(entries ?? {})) {
          if (value === null || value === undefined) data.delete(`${type}/${id}`);
          else data.set(`${type}/${id}`, value);
        }
      }
    },
  };
}

