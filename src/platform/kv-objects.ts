import type { Clock } from "../domain/clock";
import type { ProjectMethods, TargetMethods } from "../domain/ports";
import { DESTINATION_SPACING_MS } from "../notifications/outbox";

/**
 * The calls that may give an object state (KvObjectKind.writes): only a register, or a failed
 * create's withdrawal, gives a target storage (TargetCore), and an environment's writes are a name
 * claimed, an import kept and a deletion recorded (ProjectCore). The Deno server's objects over
 * SQLite files and the simulator's Deno KV mode go by the same.
 */
export const TARGET_WRITES: ReadonlySet<string> = new Set<keyof TargetMethods>(["register", "withdraw"]);
export const PROJECT_WRITES: ReadonlySet<string> = new Set<keyof ProjectMethods>([
  "claimName",
  "claimImports",
  "recordDeletion",
]);

/** A request sent through an object's output gate: `depart` is called as it leaves. */
export type GatedSend = (
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  depart: () => void,
) => Promise<Response>;

/**
 * An object's notification requests over KV: the outbox spaces a destination's requests a second
 * apart when it decides them, but each then waits at the output gate for a time that varies (a
 * commit, a lease renewal), so two could leave less than a second apart. Here each request to a
 * URL waits until the one before it left, then until a second after that, and only then goes to
 * the gate: a wait that can only make the gap longer (docs/notifications.md, "Delivery").
 */
export function spacedFetch(clock: Clock, send: GatedSend): typeof fetch {
  const departures = new Map<string, Promise<number>>();
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const previous = departures.get(url) ?? Promise.resolve(Number.NEGATIVE_INFINITY);
    let departed = (_at: number) => {};
    departures.set(
      url,
      new Promise<number>((resolve) => {
        departed = resolve;
      }),
    );
    const before = await previous;
    let left: number | undefined;
    try {
      const wait = before + DESTINATION_SPACING_MS - clock.now();
      if (wait > 0) await clock.sleep(wait);
      return await send(input, init, () => {
        left = clock.now();
      });
    } finally {
      // A request that never left (its object lost its lease) holds the next one no longer.
      departed(left ?? before);
    }
  };
}
