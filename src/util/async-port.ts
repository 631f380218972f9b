/**
 * An object's methods as another object calls them: each answers a promise. A Durable Object
 * stub's RPC turns a method's answer into a promise this way, and an in-process object must do
 * the same, so that a port is one type whichever runtime holds the object behind it.
 */
export type AsyncPort<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/**
 * `local`'s methods (every method of its class and the classes it extends), each answering a
 * promise as an RPC call does: what a method throws reaches the caller as a rejection, never as a
 * throw, and a method added to the class is on the port without another line.
 */
export function asyncPort<T extends object>(local: T): AsyncPort<T> {
  return asyncPortOf(Object.getPrototypeOf(local) as T, () => local);
}

/**
 * The methods of a class (its `prototype`, and those of the classes it extends) as a port whose
 * every call runs on the object `pick` chooses for that method: a runtime that opens an object
 * differently for a call that writes than for one that only reads says so once, not per method.
 */
export function asyncPortOf<T extends object>(
  classPrototype: T,
  pick: (method: keyof T & string) => T,
): AsyncPort<T> {
  const port: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, method] of methodsOf(classPrototype)) {
    port[name] = async (...args) => method.apply(pick(name), args);
  }
  return port as AsyncPort<T>;
}

/** The methods of a class (its `prototype`, then those of the classes it extends), by name, the nearest first. */
export function methodsOf<T extends object>(
  classPrototype: T,
): [keyof T & string, (...args: unknown[]) => unknown][] {
  const methods = new Map<string, (...args: unknown[]) => unknown>();
  for (
    let prototype: object | null = classPrototype;
    prototype !== null && prototype !== Object.prototype;
    prototype = Object.getPrototypeOf(prototype)
  ) {
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method: unknown = Object.getOwnPropertyDescriptor(prototype, name)?.value;
      if (name === "constructor" || methods.has(name) || typeof method !== "function") continue;
      methods.set(name, method as (...args: unknown[]) => unknown);
    }
  }
  return [...methods] as [keyof T & string, (...args: unknown[]) => unknown][];
}
