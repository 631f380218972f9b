import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DENO, type DenoStack, eventually, startDenoStack } from "./local-stack";

/**
 * Several Deno servers on one Deno KV file, without DATA_DIR (src/deno.ts): each process is an
 * isolate of its own, one of them at a time holds a target's lease and writes to Cattle, the others
 * forward their triggers to it through KV. Every guarantee of docs/how-it-works.md must hold across
 * them as it does in one Durable Object: the end scale is the sequential one, every answer has its own
 * from/to, every acknowledged step is applied once, a holder killed mid-write loses and doubles
 * nothing, delete and regenerate fence every process at once. And the emulator never sees two writes
 * to one service in flight at once (`overlappingWrites`, emulator/README.md).
 */
if (!existsSync(DENO)) throw new Error(`${DENO} is missing: npm ci installs the deno package`);

const KEY = `Basic ${btoa("dev-access:dev-secret")}`;
const json = { "content-type": "application/json" };
const TARGET = "scaleService:1a5:1s1";
const run = promisify(execFile);

interface Answer {
  /** Which process answered (its index in the stack), and what. */
  via: number;
  status: number;
  outcome?: string;
  from?: number;
  to?: number;
  tag: string;
}

interface Execution {
  outcome: string;
  sender?: string;
  from?: number;
  to?: number;
}

/** What a test does to a stack of several Deno servers and their one emulator. */
function driver(stackOf: () => DenoStack) {
  const stack = () => stackOf();
  const at = (via: number, path: string) => new URL(path, stack().processes[via]?.url);
  /** A request to process `via`; one it does not answer fails saying how that process is doing. */
  const send = (via: number, path: string, init: RequestInit) =>
    fetch(at(via, path), init).catch((error: unknown) => {
      throw new Error(
        `process ${via} did not answer ${init.method ?? "GET"} ${path}: ${error}\n${stack().processes[via]?.describe()}`,
      );
    });
  const api = (via: number, path: string, init: RequestInit = {}) =>
    send(via, path, { ...init, headers: { authorization: KEY, ...json, ...init.headers } });
  const scaleReceiver = async (name: string, config: Record<string, unknown> = {}) => {
    const response = await api(0, "/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: JSON.stringify({
        name,
        driver: "scaleService",
        scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 1000, ...config },
      }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as { id: string; url: string };
  };
  /** A trigger through process `via`, tagged (User-Agent) so its execution can be found. */
  const trigger = async (via: number, url: string, tag: string, headers: Record<string, string> = {}) => {
    const response = await send(via, new URL(url).pathname + new URL(url).search, {
      method: "POST",
      headers: { "user-agent": tag, ...headers },
    });
    const body = (await response.json()) as { outcome?: string; from?: number; to?: number };
    return {
      via,
      status: response.status,
      tag,
      outcome: body.outcome,
      from: body.from,
      to: body.to,
    } as Answer;
  };
  const emulator = (path: string, body?: unknown) =>
    stack().emulator(
      path,
      body === undefined ? {} : { method: "POST", headers: json, body: JSON.stringify(body) },
    );
  const service = async () =>
    (await (
      await stack().emulator("/v2-beta/projects/1a5/services/1s1", { headers: { authorization: KEY } })
    ).json()) as { scale: number; state: string };
  const scale = async () => (await service()).scale;
  const stats = async () =>
    (await (await emulator("/_emulator/stats")).json()) as {
      byMethod: Record<string, number>;
      overlappingWrites: number;
      inFlight: Record<string, number>;
    };
  const executions = async (via: number, receiverId: string) => {
    const response = await api(
      via,
      `/v1-webhooks/receivers/${receiverId}/executions?projectId=1a5&limit=100`,
    );
    expect(response.status).toBe(200);
    return ((await response.json()) as { data: Execution[] }).data;
  };
  /** Once no execution is pending: the list as each process gives it, which must be the same. */
  const settled = async (receiverId: string, through = stack().processes.map((_, via) => via)) => {
    const lists = await eventually(
      "every pending execution to settle",
      async () => {
        const lists = await Promise.all(through.map((via) => executions(via, receiverId)));
        return lists.some((list) => list.some((execution) => execution.outcome === "pending"))
          ? undefined
          : lists;
      },
      60_000,
    );
    for (const list of lists.slice(1)) expect(list).toEqual(lists[0]);
    return lists[0] as Execution[];
  };
  /**
   * The target's lease in the KV file, while it lasts: the process id of its holder. Read by Deno:
   * Deno's V8 serializes values in a newer format than Node's V8 (and so @deno/kv's) can read.
   */
  const lease = async (target = TARGET) => {
    const { stdout } = await run(
      process.execPath,
      [
        DENO,
        "eval",
        `const kv = await Deno.openKv(${JSON.stringify(stack().kvPath)});
         console.log(JSON.stringify((await kv.get(["lease", "targets", ${JSON.stringify(target)}])).value));
         kv.close();`,
      ],
      { env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } },
    );
    const value = JSON.parse(stdout) as { holder: string; until: number } | null;
    // The isolate's name is `${pid}-${random}` (src/deno.ts).
    return value && value.until >= Date.now() ? { pid: Number(value.holder.split("-")[0]) } : undefined;
  };
  /** The index in the stack of the process that holds the target now, if one does. */
  const holder = async (target = TARGET) => {
    const held = await lease(target);
    const index = stack().processes.findIndex((server) => held !== undefined && server.pid() === held.pid);
    return index === -1 ? undefined : index;
  };
  /**
   * That the processes share one KV file, each seeing the others' writes at once: a receiver made
   * through the first is found, and triggered, through every one. Fails saying where the file is and
   * how each process is doing, rather than leaving every test to fail on its own.
   */
  const shared = async () => {
    const receiver = await scaleReceiver(`shared-${Date.now()}`);
    for (const via of stack().processes.keys()) {
      const found = await api(via, `/v1-webhooks/receivers/${receiver.id}?projectId=1a5`);
      const answer = found.ok ? await trigger(via, receiver.url, `shared-${via}`) : undefined;
      if (answer?.outcome !== "applied") {
        throw new Error(
          `a receiver made through process 0 is ${found.status} through process ${via}, its trigger ${answer?.status} ${answer?.outcome}: ` +
            `do they share the KV file ${stack().kvPath} (${mountOf(stack().kvPath ?? "")})?\n` +
            stack()
              .processes.map((server) => server.describe())
              .join("\n"),
        );
      }
    }
  };
  return {
    api,
    scaleReceiver,
    trigger,
    emulator,
    service,
    scale,
    stats,
    executions,
    settled,
    lease,
    holder,
    shared,
  };
}

/** The file system `path` is on, from /proc/mounts: where it is mounted and its type. */
function mountOf(path: string): string {
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" "))
    .filter(([, at]) => at && (path === at || path.startsWith(at.endsWith("/") ? at : `${at}/`)))
    .sort((a, b) => (b[1]?.length ?? 0) - (a[1]?.length ?? 0));
  const [device, at, type] = mounts[0] ?? [];
  return at ? `${type} at ${at}, from ${device}` : "no mount found";
}

/** Answers sorted by `from`: each step's from/to, to be the sequence start, start+1, … */
const steps = (answers: { from?: number; to?: number }[]) =>
  answers.map(({ from, to }) => [from, to]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
const chain = (start: number, length: number) => Array.from({ length }, (_, i) => [start + i, start + i + 1]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** An answer with when its request was sent and how long the answer took. */
const timed = async (answer: Promise<Answer>) => {
  const sent = Date.now();
  return { ...(await answer), sent, took: Date.now() - sent };
};

/**
 * Two stacks of three servers each, run at the same time (most of their time is spent waiting on
 * leases and Cattle); the tests of each run one after another, each from a reset emulator.
 */
describe("three Deno servers on one KV file: bursts, faults, de-duplication", {
  concurrent: true,
}, () => {
  const test = it.sequential;
  let stack: DenoStack;
  const d = driver(() => stack);
  beforeAll(async () => {
    stack = await startDenoStack({ processes: 3 });
  }, 90_000);
  afterAll(async () => {
    await stack?.dispose();
  });
  beforeEach(async () => {
    await d.emulator("/_emulator/reset", {});
  });

  test("the three processes share the KV file: what one writes, each reads at once", d.shared);

  test("a burst spread over the processes is the sequential one, also when it reaches the maximum", async () => {
    const receiver = await d.scaleReceiver(`burst-${Date.now()}`);
    const start = await d.scale();
    const N = 60;
    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) => d.trigger(i % 3, receiver.url, `burst-${i}`)),
    );
    expect(answers.map((answer) => [answer.status, answer.outcome])).toEqual(
      Array.from({ length: N }, () => [200, "applied"]),
    );
    expect(steps(answers)).toEqual(chain(start, N));
    expect(await d.scale()).toBe(start + N);
    // Combined into far fewer writes than triggers, across the three processes.
    expect((await d.stats()).byMethod.PUT ?? 0).toBeLessThan(N / 3);

    // A maximum reached mid-burst: the first `room` steps in whatever order they were taken are
    // applied, and every later one is noop, as one after another they would be.
    const room = 20;
    const top = start + N + room;
    const clamped = await d.scaleReceiver(`clamped-${Date.now()}`, { max: top });
    const more = await Promise.all(
      Array.from({ length: 30 }, (_, i) => d.trigger(i % 3, clamped.url, `clamped-${i}`)),
    );
    const applied = more.filter((answer) => answer.outcome === "applied");
    const noop = more.filter((answer) => answer.outcome === "noop");
    expect(more.every((answer) => answer.status === 200)).toBe(true);
    expect([applied.length, noop.length]).toEqual([room, 30 - room]);
    expect(steps(applied)).toEqual(chain(start + N, room));
    for (const answer of noop) expect([answer.from, answer.to]).toEqual([top, top]);
    expect(await d.scale()).toBe(top);
    const history = await d.settled(clamped.id);
    expect(history.filter((execution) => execution.outcome === "applied").length).toBe(room);
    expect((await d.stats()).overlappingWrites).toBe(0);
  }, 60_000);

  test("stays exact through long Cattle processes, 409s, failures and writes applied but not answered", async () => {
    const receiver = await d.scaleReceiver(`faults-${Date.now()}`);
    const start = await d.scale();
    // Each scale change holds the service's lock for 1.5 s, and a write waits only 0.5 s for it
    // (then 409, nothing changed): the holder must wait each change out before it writes again.
    await d.emulator("/_emulator/config", { transitionMs: 1_500, lockWaitMs: 500 });
    const answers: Answer[] = [];
    // Failed requests (reads too: a run of them keeps a step unknown past 6 s, answered pending),
    // Cattle's 409 for a write it held behind a running process and gave up on (nothing applied),
    // writes applied whose answer never comes (over plain HTTP workerd answers them 500), and
    // writes applied at once but answered late (read back as landed before their answer comes).
    for (const faults of [
      { lateMs: 1_500, lateCount: 3 },
      { status: 503, count: 2 },
      { status: 409, count: 3 },
      { dropCount: 2 },
      { status: 503, count: 8 },
      { status: 503, count: 1, dropCount: 1 },
    ]) {
      await d.emulator("/_emulator/faults", faults);
      const wave = answers.length;
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 12 }, async (_, i) => {
            await sleep(i * 60);
            const tag = `faults-${wave + i}`;
            return d.trigger((wave + i) % 3, receiver.url, tag, { "idempotency-key": tag });
          }),
        )),
      );
    }
    await d.emulator("/_emulator/faults", { count: 0, dropCount: 0, lateCount: 0 });
    const history = await d.settled(receiver.id);
    const byTag = new Map(history.map((execution) => [execution.sender, execution]));
    expect(byTag.size).toBe(history.length);
    for (const answer of answers) {
      const execution = byTag.get(answer.tag);
      if (answer.status === 503) {
        // Only what nothing was written of is answered 503.
        expect(execution, `${answer.tag} answered 503`).toBeUndefined();
        continue;
      }
      expect([answer.tag, answer.status, answer.outcome]).toEqual(
        answer.outcome === "pending" ? [answer.tag, 202, "pending"] : [answer.tag, 200, "applied"],
      );
      // Settled as it was answered, or, if pending, as it ended: applied, read through any process.
      expect([answer.tag, execution?.outcome]).toEqual([answer.tag, "applied"]);
      if (answer.outcome === "applied")
        expect([execution?.from, execution?.to]).toEqual([answer.from, answer.to]);
    }
    const applied = history.filter((execution) => execution.outcome === "applied");
    expect(applied.length).toBe(history.length);
    expect(steps(applied)).toEqual(chain(start, applied.length));
    expect(await d.scale()).toBe(start + applied.length);
    // Triggers were answered each way: applied at once, and pending then settled.
    expect(answers.some((answer) => answer.status === 200)).toBe(true);
    expect(answers.some((answer) => answer.status === 202)).toBe(true);
    expect((await d.stats()).overlappingWrites).toBe(0);
  }, 90_000);

  test("a delivery sent to two processes at once is applied once, the other answered deduplicated", async () => {
    const receiver = await d.scaleReceiver(`dedup-${Date.now()}`);
    const start = await d.scale();
    const pairs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => {
        const key = `delivery-${Date.now()}-${i}`;
        return Promise.all(
          [i % 3, (i + 1) % 3].map((via) => d.trigger(via, receiver.url, key, { "idempotency-key": key })),
        );
      }),
    );
    for (const pair of pairs) {
      expect(pair.map((answer) => answer.status)).toEqual([200, 200]);
      expect(pair.map((answer) => answer.outcome).sort()).toEqual(["applied", "deduplicated"]);
      expect([pair[1]?.from, pair[1]?.to]).toEqual([pair[0]?.from, pair[0]?.to]);
    }
    const applied = pairs.flat().filter((answer) => answer.outcome === "applied");
    expect(steps(applied)).toEqual(chain(start, pairs.length));
    expect(await d.scale()).toBe(start + pairs.length);
    const history = await d.settled(receiver.id);
    expect(history.filter((execution) => execution.outcome === "applied").length).toBe(pairs.length);
    expect((await d.stats()).overlappingWrites).toBe(0);
  });
});

describe("three Deno servers on one KV file: a holder killed, a holder stopped, fences", {
  concurrent: true,
}, () => {
  const test = it.sequential;
  let stack: DenoStack;
  const d = driver(() => stack);
  beforeAll(async () => {
    stack = await startDenoStack({ processes: 3 });
  }, 90_000);
  afterAll(async () => {
    await stack?.dispose();
  });
  beforeEach(async () => {
    // A test that failed may have left a process stopped.
    await Promise.all(stack.processes.filter((server) => !server.running()).map((server) => server.start()));
    await d.emulator("/_emulator/reset", {});
  });

  test("the three processes share the KV file: what one writes, each reads at once", d.shared);

  test("a holder killed mid-write loses and doubles nothing: another takes over once its lease ran out", async () => {
    const receiver = await d.scaleReceiver(`killed-${Date.now()}`);
    // A first trigger makes a process take the target; it holds it while it has work.
    const warm = await d.trigger(0, receiver.url, "killed-warm");
    expect([warm.status, warm.outcome]).toEqual([200, "applied"]);
    const start = await d.scale();
    const killed = (await eventually("the target's holder", () => d.holder())) as number;
    const killedPid = stack.processes[killed]?.pid();
    // The next write is applied at once and answered 5 s later; the change it starts keeps the
    // service busy 4 s, so nothing else is written before its holder is killed.
    await d.emulator("/_emulator/config", { transitionMs: 4_000 });
    await d.emulator("/_emulator/faults", { lateMs: 5_000, lateCount: 1 });
    const writesBefore = (await d.stats()).byMethod.PUT ?? 0;
    /**
     * A sender as Alertmanager is one: each delivery has its own key, and is sent again (through
     * the next process) after a 503 or a connection that broke, until it is answered.
     */
    const deliver = async (i: number): Promise<Answer[]> => {
      const tag = `killed-${i}`;
      const tries: Answer[] = [];
      for (let attempt = 0, via = i % 3; attempt < 40; attempt++, via = (via + 1) % 3) {
        const answer = await d
          .trigger(via, receiver.url, tag, { "idempotency-key": tag })
          .catch(() => ({ via, status: 0, tag }) as Answer);
        tries.push(answer);
        if (answer.status !== 503 && answer.status !== 0) return tries;
        await sleep(answer.status === 0 ? 200 : 2_000);
      }
      return tries;
    };
    const burst = Array.from({ length: 30 }, async (_, i) => {
      await sleep(i * 100);
      return deliver(i);
    });
    // A write is in flight: its holder is killed before it is answered.
    await eventually(
      "a write in flight",
      async () => ((await d.stats()).byMethod.PUT ?? 0) > writesBefore || undefined,
      20_000,
    );
    await stack.processes[killed]?.kill("SIGKILL");
    // The write was not answered yet, and its holder's lease still stands.
    expect((await d.stats()).inFlight).toEqual({ "1s1": 1 });
    expect(await d.lease()).toEqual({ pid: killedPid });
    await d.emulator("/_emulator/config", { transitionMs: 300 });
    const deliveries = await Promise.all(burst);
    const answers = deliveries.map((tries) => tries.at(-1) as Answer);
    // Every delivery ends answered: applied, pending or deduplicated (a retry of one whose first
    // answer was lost with the holder, or was 503 while it was kept in the write in flight).
    for (const answer of answers) {
      expect([answer.tag, answer.status]).toEqual([answer.tag, answer.outcome === "pending" ? 202 : 200]);
      expect(answer.outcome).toMatch(/^(applied|pending|deduplicated)$/);
    }
    // Another process took the target over (once the killed one's lease had run out).
    const next = await d.lease();
    expect(next).toBeDefined();
    expect(next?.pid).not.toBe(killedPid);

    // Listed alike through either process still up.
    const history = (
      await d.settled(
        receiver.id,
        [0, 1, 2].filter((via) => via !== killed),
      )
    ).filter((execution) => execution.sender !== "killed-warm");
    // One step per delivery, applied once: the end scale is their sum. A retry answered
    // deduplicated is recorded as such, beside the step it repeated.
    const applied = history.filter((execution) => execution.outcome === "applied");
    const appliedTags = new Set(applied.map((execution) => execution.sender));
    expect([applied.length, appliedTags.size]).toEqual([answers.length, answers.length]);
    const repeats = history.filter((execution) => execution.outcome !== "applied");
    for (const repeat of repeats)
      expect([repeat.sender, repeat.outcome]).toEqual([repeat.sender, "deduplicated"]);
    expect(repeats.length).toBe(answers.filter((answer) => answer.outcome === "deduplicated").length);
    for (const answer of answers) {
      const execution = applied.find((each) => each.sender === answer.tag);
      expect([answer.tag, execution?.outcome]).toEqual([answer.tag, "applied"]);
      if (answer.outcome === "applied")
        expect([execution?.from, execution?.to]).toEqual([answer.from, answer.to]);
    }
    expect(steps(applied)).toEqual(chain(start, applied.length));
    expect(await d.scale()).toBe(start + applied.length);
    expect((await d.stats()).overlappingWrites).toBe(0);

    // The killed process, started again, serves: its trigger continues the sequence.
    await stack.processes[killed]?.start();
    const after = await d.trigger(killed, receiver.url, "killed-after");
    expect([after.status, after.outcome, after.from, after.to]).toEqual([
      200,
      "applied",
      start + applied.length,
      start + applied.length + 1,
    ]);
    // It lists the same history as the others.
    const everywhere = await d.settled(receiver.id);
    expect(
      everywhere.filter((execution) => !["killed-warm", "killed-after"].includes(execution.sender ?? "")),
    ).toEqual(history);
  }, 90_000);

  test("a process told to stop gives its leases up: the next trigger through another is answered at once", async () => {
    const receiver = await d.scaleReceiver(`stopped-${Date.now()}`);
    const start = await d.scale();
    const first = await d.trigger(1, receiver.url, "stopped-1");
    expect([first.status, first.outcome]).toEqual([200, "applied"]);
    // Whichever process holds the target now (the one that took its free lease) is stopped.
    const holder = (await eventually("the target's holder", () => d.holder())) as number;
    await stack.processes[holder]?.kill("SIGTERM");
    const other = (holder + 1) % 3;
    const sent = Date.now();
    const next = await d.trigger(other, receiver.url, "stopped-2");
    // Well within the 12 s its lease would have lasted.
    expect(Date.now() - sent).toBeLessThan(6_000);
    expect([next.status, next.outcome, next.from, next.to]).toEqual([200, "applied", start + 1, start + 2]);
    expect(await d.holder()).not.toBe(holder);
    await stack.processes[holder]?.start();
    const back = await d.trigger(holder, receiver.url, "stopped-3");
    expect([back.status, back.outcome, back.from, back.to]).toEqual([200, "applied", start + 2, start + 3]);
    expect((await d.stats()).overlappingWrites).toBe(0);
  });

  test("a delete or a regenerate through one process fences the receiver in every process at once", async () => {
    // Each scale change keeps the service busy 3 s: triggers queue behind it meanwhile.
    await d.emulator("/_emulator/config", { transitionMs: 3_000 });
    /**
     * Triggers `url` through processes 0 and 1 every 100 ms, each answer awaited on its own, until
     * 1 s after the fence; the fence (through process 2) comes once a change is running and
     * triggers have queued behind it for 300 ms. Answers with when each was sent and how long it took.
     */
    const fencedBurst = async (url: string, tag: string, fence: () => Promise<Response>) => {
      const answers: (Answer & { sent: number; took: number })[] = [];
      let fencedAt: number | undefined;
      const sending = (async () => {
        const pending: Promise<unknown>[] = [];
        for (let i = 0; fencedAt === undefined || Date.now() < fencedAt + 1_000; i++) {
          pending.push(timed(d.trigger(i % 2, url, `${tag}-${i}`)).then((answer) => answers.push(answer)));
          await sleep(100);
        }
        await Promise.all(pending);
      })();
      await eventually(
        "a change running",
        async () => (await d.service()).state === "updating-active" || undefined,
      );
      await sleep(300);
      const fenced = await fence();
      fencedAt = Date.now();
      // Sent after the fence's answer, through every process.
      const after = await Promise.all(
        [0, 1, 2].map((via) => timed(d.trigger(via, url, `${tag}-after-${via}`))),
      );
      await sending;
      return { fenced, fencedAt, answers, after };
    };
    /** What a fence must leave: every later trigger refused at once, nothing applied but what was. */
    const checkFence = (
      { fencedAt, answers, after }: Awaited<ReturnType<typeof fencedBurst>>,
      from: number,
    ) => {
      const late = [...after, ...answers.filter((answer) => answer.sent >= fencedAt)];
      expect(late.length).toBeGreaterThan(3);
      for (const answer of late) {
        expect([answer.tag, answer.status]).toEqual([answer.tag, 403]);
        // At once: not queued behind the change still running (those sent as the fence was answered
        // would wait over 2 s for it), however slowly the KV file commits.
        expect(answer.took, answer.tag).toBeLessThan(2_000);
      }
      // Triggers queued when the fence came are refused too; the others were applied, one step each.
      const before = answers.filter((answer) => answer.sent < fencedAt);
      expect(before.some((answer) => answer.status === 403)).toBe(true);
      for (const answer of before) expect([200, 403]).toContain(answer.status);
      const applied = before.filter((answer) => answer.status === 200);
      expect(applied.every((answer) => answer.outcome === "applied")).toBe(true);
      expect(applied.length).toBeGreaterThan(0);
      expect(steps(applied)).toEqual(chain(from, applied.length));
      return from + applied.length;
    };

    const start = await d.scale();
    const deleted = await d.scaleReceiver(`deleted-${Date.now()}`);
    const deletion = await fencedBurst(deleted.url, "deleted", () =>
      d.api(2, `/v1-webhooks/receivers/${deleted.id}?projectId=1a5`, { method: "DELETE" }),
    );
    expect(deletion.fenced.status).toBe(204);
    const middle = checkFence(deletion, start);
    // Nothing is written after what was answered: a write already sent was all.
    await sleep(2_000);
    expect(await d.scale()).toBe(middle);

    // The same for a regenerate: the old URL is refused everywhere, the new one works everywhere.
    const renewed = await d.scaleReceiver(`regenerated-${Date.now()}`);
    const regeneration = await fencedBurst(renewed.url, "old", () =>
      d.api(2, `/v1-webhooks/receivers/${renewed.id}?projectId=1a5&action=regenerate`, { method: "POST" }),
    );
    expect(regeneration.fenced.status).toBe(200);
    const { url } = (await regeneration.fenced.json()) as { url: string };
    const end = checkFence(regeneration, middle);
    const fresh: Answer[] = [];
    for (const via of [0, 1, 2]) fresh.push(await d.trigger(via, url, `new-${via}`));
    expect(fresh.map((answer) => [answer.status, answer.outcome])).toEqual([
      [200, "applied"],
      [200, "applied"],
      [200, "applied"],
    ]);
    expect(steps(fresh)).toEqual(chain(end, 3));
    expect(await d.scale()).toBe(end + 3);
    expect((await d.stats()).overlappingWrites).toBe(0);
  }, 60_000);
});
