/**
 * A value made by start() but handed to its users at construction: key
 * material that start() loads, or generates, only after it has asked the
 * database whether generating is safe. Until `resolve`, any use throws (a
 * programming error: nothing may use keys before the app has started).
 */
export interface Deferred<T extends object> {
  /** Stands for the resolved value: every property read goes to it. */
  readonly value: T;
  resolve(value: T): void;
}

export function deferred<T extends object>(what: string): Deferred<T> {
  let resolved: T | undefined;
  const value = new Proxy({} as T, {
    get(_target, property) {
      if (!resolved) throw new Error(`${what} used before start()`);
      return Reflect.get(resolved, property, resolved) as unknown;
    },
  });
  return {
    value,
    resolve(made) {
      resolved = made;
    },
  };
}
