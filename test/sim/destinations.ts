import type { Owner, Scheduler } from "./scheduler";

/** What a destination does with the next requests that reach it. */
export type DestinationFault =
  | { kind: "status"; status: 500 | 502 | 503 }
  /** 429, with `Retry-After` in seconds or without one. */
  | { kind: "tooMany"; retryAfterSeconds?: number }
  /** The connection fails before the request reaches it. */
  | { kind: "network" }
  /** It takes the request and never answers. */
  | { kind: "hang" };

/**
 * The broken worlds of the tests, each of which the checker must catch: a destination that answers
 * 2xx for a message it lost; a proxy that replays a request, that changes the body of a message's
 * later attempts, that sends a message to another receiver's destination, that strips Retry-After
 * from a 429, or that alters what a webhook says of an execution; a target that never hears of a
 * delete (the world's, in world.ts).
 */
export type BrokenNetwork =
  | "drops"
  | "replays"
  | "rewrites"
  | "misroutes"
  | "stripsRetryAfter"
  | "falsifies"
  | "ignoresDelete";

/** A destination endpoint of the plan: how long it takes to answer, and whether it refuses everything. */
export interface EndpointSpec {
  latencyMs: number;
  /** Answers 400 to every request, for good (a Slack URL revoked, say). */
  broken: boolean;
}

/** One request as it left a target, and what became of it. */
export interface SentRequest {
  seq: number;
  url: string;
  /** Which incarnation sent it. */
  sender: string;
  /** The object's name (`target:…`), so the checker can tell what it was about. */
  object: string;
  sentAt: number;
  headers: Record<string, string>;
  body: string;
  /** What the sender had stored as being attempted when the request left: its message. */
  stored?: { messageId: string; destinationId: string; message: string };
  /** When it reached the destination; undefined if it never did. */
  reachedAt?: number;
  /** The destination's answer (0: none, the request hangs or never reached it). */
  status: number;
  retryAfterSeconds?: number;
  /** When the answer reached a live sender. */
  answeredAt?: number;
  /** When the sender gave up on it (its own timeout). */
  abortedAt?: number;
  /** The broken world of the tests: answered 2xx but never taken in. */
  dropped?: boolean;
}

/** The base of every destination URL: https, as production takes it; the world routes it. */
export const DESTINATION_ORIGIN = "https://hooks.sim";

export const endpointUrl = (endpoint: number): string =>
  `${DESTINATION_ORIGIN}/e${endpoint}/${"x".repeat(8)}${String(endpoint).padStart(4, "0")}`;

/**
 * The destinations notifications go to, as one network: every request is kept with what the
 * sender had stored for it, reaches its endpoint half its latency later (whatever becomes of the
 * sender meanwhile), and is answered the other half later to its sender only if that incarnation
 * is still alive. A sender's abort (its attempt timed out) ends the wait at once.
 */
export class SimDestinations {
  readonly requests: SentRequest[] = [];
  readonly #faults = new Map<number, DestinationFault[]>();
  /** Crashes the next request meets: before it reaches its endpoint, or once it did. */
  readonly crashes: { restartMs: number; reached: boolean }[] = [];
  /** Set by the run: crashes the object whose live incarnation is `owner`. */
  crashOwner: (owner: Owner, restartMs: number) => void = () => {};
  /** Set by the tests only: how this network breaks the guarantees. */
  broken: BrokenNetwork | undefined;
  /** For `misroutes`: another receiver's destination URL than that of `url`. */
  elsewhere: (url: string) => string | undefined = () => undefined;
  /** Whether the broken world did its harm already (most do it once). */
  #broke = false;
  readonly #attemptsOf = new Map<string, number>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly endpoints: readonly EndpointSpec[],
    private readonly log: (line: string) => void,
  ) {}

  /** The next `count` requests that reach `endpoint` meet `fault`. */
  fault(endpoint: number, fault: DestinationFault, count: number): void {
    const queue = this.#faults.get(endpoint) ?? [];
    for (let i = 0; i < count; i++) queue.push(fault);
    this.#faults.set(endpoint, queue);
  }

  /** The faults the plan left unused end with it: the world then settles. */
  clearFaults(): void {
    this.#faults.clear();
    this.crashes.length = 0;
  }

  /**
   * The `fetch` an incarnation of a target gets. `stored` reads what the sender stored as being
   * attempted for the URL now (the outbox stores an attempt before its request leaves).
   */
  fetchFor(owner: Owner, object: string, stored: (url: string) => SentRequest["stored"]): typeof fetch {
    return (input, init) => {
      let url = String(input instanceof Request ? input.url : input);
      const headers = Object.fromEntries(new Headers(init?.headers));
      const signal = init?.signal ?? undefined;
      const found = stored(url);
      let body = typeof init?.body === "string" ? init.body : "";
      if (found) {
        const attempt = (this.#attemptsOf.get(found.messageId) ?? 0) + 1;
        this.#attemptsOf.set(found.messageId, attempt);
        if (this.broken === "rewrites" && attempt > 1) body = `${body} `;
        const other = this.broken === "misroutes" && !this.#broke ? this.elsewhere(url) : undefined;
        if (other) {
          this.#broke = true;
          url = other;
        }
      }
      if (this.broken === "falsifies" && headers["webhook-id"] !== undefined) {
        const parsed = JSON.parse(body) as { executions: { to?: number }[] };
        for (const execution of parsed.executions) if (execution.to !== undefined) execution.to += 1;
        body = JSON.stringify(parsed);
      }
      const request: SentRequest = {
        seq: this.requests.length + 1,
        url,
        sender: owner.label,
        object,
        sentAt: this.scheduler.now,
        headers,
        body,
        ...(found ? { stored: found } : {}),
        status: 0,
      };
      this.requests.push(request);
      this.scheduler.touch();
      const index = /\/e(\d+)\//.exec(url)?.[1];
      const endpoint = index === undefined ? undefined : this.endpoints[Number(index)];
      const latency = endpoint?.latencyMs ?? 10;
      this.log(
        `notify n${request.seq}: ${owner.label} posts ${request.stored?.messageId ?? "a test"} to e${index}`,
      );
      return new Promise<Response>((resolve, reject) => {
        let settled = false;
        const finish = (settle: () => void) => {
          if (settled) return;
          settled = true;
          settle();
        };
        signal?.addEventListener(
          "abort",
          () => {
            if (settled) return;
            request.abortedAt = this.scheduler.now;
            this.log(`notify n${request.seq}: ${owner.label} gave up waiting`);
            finish(() => reject(signal.reason));
          },
          { once: true },
        );
        const crash = this.crashes.shift();
        if (crash && !crash.reached) {
          // The process dies as the request is about to leave: it never reaches the destination.
          this.log(`notify n${request.seq}: ${owner.label} dies before the request leaves`);
          this.crashOwner(owner, crash.restartMs);
          return;
        }
        const fault = index === undefined ? undefined : this.#faults.get(Number(index))?.shift();
        if (!endpoint || fault?.kind === "network") {
          this.scheduler.after(
            latency / 2,
            () => {
              this.scheduler.touch();
              this.log(`notify n${request.seq}: network error`);
              finish(() => reject(new TypeError("fetch failed: connection refused")));
            },
            owner,
          );
          return;
        }
        // In flight: it reaches the destination whatever becomes of its sender.
        this.scheduler.after(latency / 2, () => {
          request.reachedAt = this.scheduler.now;
          if (crash) {
            this.log(`notify n${request.seq}: reached e${index}; ${owner.label} dies before the answer`);
            this.crashOwner(owner, crash.restartMs);
          }
          if (fault?.kind === "hang") {
            this.log(`notify n${request.seq}: e${index} never answers`);
            return;
          }
          let status = 200;
          const answerHeaders: Record<string, string> = {};
          if (endpoint.broken) status = 400;
          else if (fault?.kind === "status") status = fault.status;
          else if (fault?.kind === "tooMany") {
            status = 429;
            if (fault.retryAfterSeconds !== undefined) {
              if (this.broken !== "stripsRetryAfter")
                answerHeaders["retry-after"] = String(fault.retryAfterSeconds);
              request.retryAfterSeconds = fault.retryAfterSeconds;
            }
          }
          if (status === 200 && this.broken === "drops" && !this.#broke && request.stored) {
            this.#broke = true;
            request.dropped = true;
          }
          if (this.broken === "replays" && !this.#broke) {
            this.#broke = true;
            this.requests.push({ ...request, seq: this.requests.length + 1, sentAt: this.scheduler.now });
            this.log(`notify n${this.requests.length}: a proxy replays n${request.seq}`);
          }
          request.status = status;
          this.log(
            `notify n${request.seq}: e${index} answers ${status}${request.retryAfterSeconds === undefined ? "" : ` (Retry-After ${request.retryAfterSeconds})`}`,
          );
          this.scheduler.after(
            latency / 2,
            () => {
              this.scheduler.touch();
              if (settled) return;
              request.answeredAt = this.scheduler.now;
              finish(() =>
                resolve(
                  new Response(status === 200 ? "ok" : status === 400 ? "invalid_token" : "try later", {
                    status,
                    headers: answerHeaders,
                  }),
                ),
              );
            },
            owner,
          );
        });
      });
    };
  }
}
