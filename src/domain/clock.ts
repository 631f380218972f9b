/** Time as the cores see it: passed in, so tests can run them on a clock of their own. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Resolves once `ms` have passed on this clock. Once `signal` aborts, it never resolves and its
   * timer is gone: a sleep that lost a race does not wake the runtime later for nothing.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return;
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener("abort", () => clearTimeout(timer), { once: true });
    }),
};
