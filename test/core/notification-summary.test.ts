import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Execution, OUTCOMES, type UpgradeProgress } from "../../src/domain/execution";
import { clip, MAX_SUMMARY_CHARS, plainLine, summarize, testSummary } from "../../src/notifications/summary";

const T0 = 1_800_000_000_000;

let sequence = 0;
const execution = (fields: Partial<Execution> & Pick<Execution, "outcome">): Execution => ({
  id: `1ex${++sequence}`,
  receiverId: "1rc1",
  driver: "scaleService",
  reason: "",
  at: T0 + sequence * 1000,
  ...fields,
});

/** 37 steps 3 → 4 … 39 → 40, then two triggers that found the service at its maximum. */
const burst = (): Execution[] => [
  ...Array.from({ length: 37 }, (_, i) =>
    execution({ outcome: "applied", from: 3 + i, to: 4 + i, reason: "scaled up by 1", at: T0 + i * 100 }),
  ),
  ...[0, 1].map((i) =>
    execution({
      outcome: "noop",
      from: 40,
      to: 40,
      reason: "already at maximum scale 40",
      at: T0 + 5000 + i,
    }),
  ),
];

const upgrade = (fields: Partial<UpgradeProgress> & Pick<UpgradeProgress, "steps">): UpgradeProgress => ({
  serviceId: "1s7",
  serviceName: "api",
  image: "myorg/api:1.1.0",
  ...fields,
});

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe("summarize", () => {
  it("sums up a burst of scale steps and the triggers that found the maximum", () => {
    expect(summarize({ receiverName: "scale-web", targetLabel: "web", executions: burst() })).toBe(
      "scale-web: 37 applied, web 3 → 40; 2 noop at maximum",
    );
  });

  it("takes where the oldest step started and the newest ended, whatever order they come in", () => {
    const shuffled = burst().reverse();
    expect(summarize({ receiverName: "scale-web", executions: shuffled })).toBe(
      "scale-web: 37 applied, 3 → 40; 2 noop at maximum",
    );
  });

  it("lists groups in the order outcomes are listed, with one reason said once", () => {
    const executions = [
      execution({ outcome: "failed", reason: "Cattle answered 503" }),
      execution({ outcome: "noop", from: 1, to: 1, reason: "already at minimum scale 1" }),
      execution({ outcome: "cooldown", reason: "in cooldown for 20 more seconds" }),
      execution({ outcome: "failed", reason: "Cattle answered 503" }),
    ];
    expect(summarize({ receiverName: "scale-web", executions })).toBe(
      "scale-web: 1 noop at minimum; 1 cooldown: in cooldown for 20 more seconds; 2 failed: Cattle answered 503",
    );
  });

  it("says the newest of several reasons", () => {
    const executions = [
      execution({ outcome: "failed", reason: "Cattle answered 503" }),
      execution({ outcome: "failed", reason: "Cattle did not answer in 10 s" }),
    ];
    expect(summarize({ receiverName: "r", executions })).toBe(
      "r: 2 failed (latest: Cattle did not answer in 10 s)",
    );
  });

  it("names the service and image of an upgrade", () => {
    const applied = execution({
      driver: "serviceUpgrade",
      outcome: "applied",
      reason: "upgraded 1s7 (api) to myorg/api:1.1.0",
      upgrades: [upgrade({ previousImage: "myorg/api:1.0.0", steps: [{ step: "finished", at: T0 }] })],
    });
    expect(summarize({ receiverName: "deploy-api", executions: [applied] })).toBe(
      "deploy-api: 1 applied, api → myorg/api:1.1.0",
    );
  });

  it("says where a rolled-back upgrade went back to, and why", () => {
    const rolledBack = execution({
      driver: "serviceUpgrade",
      outcome: "rolledBack",
      reason: "rolled back 1s7 (api) from myorg/api:1.1.0 to myorg/api:1.0.0: …",
      upgrades: [
        upgrade({
          previousImage: "myorg/api:1.0.0",
          steps: [
            { step: "upgrading", at: T0 },
            { step: "rolled back", at: T0 + 60_000 },
          ],
          message: "1i7 (Default-api-1) unhealthy after 3 checks",
        }),
      ],
    });
    expect(summarize({ receiverName: "deploy-api", executions: [rolledBack] })).toBe(
      "deploy-api: 1 rolled back, api back to myorg/api:1.0.0 (1i7 (Default-api-1) unhealthy after 3 checks)",
    );
  });

  it("names each service of a push once, as the newest execution left it", () => {
    const executions = [
      execution({
        driver: "serviceUpgrade",
        outcome: "applied",
        upgrades: [
          upgrade({ steps: [{ step: "finished", at: T0 }] }),
          upgrade({ serviceId: "1s8", serviceName: "worker", image: "myorg/api:1.1.0", steps: [] }),
        ],
      }),
      execution({
        driver: "serviceUpgrade",
        outcome: "applied",
        upgrades: [upgrade({ image: "myorg/api:1.2.0", steps: [{ step: "finished", at: T0 }] })],
      }),
    ];
    expect(summarize({ receiverName: "deploy", executions })).toBe(
      "deploy: 2 applied, worker → myorg/api:1.1.0, api → myorg/api:1.2.0",
    );
    const failed = execution({
      driver: "serviceUpgrade",
      outcome: "failed",
      upgrades: [upgrade({ steps: [{ step: "failed", at: T0 }], message: "Cattle refused the upgrade" })],
    });
    expect(summarize({ receiverName: "deploy", executions: [failed] })).toBe(
      "deploy: 1 failed, api not upgraded to myorg/api:1.1.0 (Cattle refused the upgrade)",
    );
  });

  it("keeps a reason on one plain line", () => {
    const executions = [execution({ outcome: "failed", reason: "line one\n\u202Eevil\u0007 line\ttwo " })];
    expect(summarize({ receiverName: "r\r\nx", executions })).toBe("r x: 1 failed: line one evil line two");
    const empty = [
      execution({ outcome: "failed", reason: "\u0000\u0007" }),
      execution({ outcome: "failed", reason: "" }),
    ];
    expect(summarize({ receiverName: "\u0000", executions: empty })).toBe("receiver: 2 failed");
    const step = [execution({ outcome: "applied", from: 1, to: 2 })];
    expect(summarize({ receiverName: "r", targetLabel: "\u0007", executions: step })).toBe(
      "r: 1 applied, 1 → 2",
    );
  });

  it("clips huge reasons and a thousand executions to the bound", () => {
    const executions = Array.from({ length: 1000 }, (_, i) =>
      execution({
        outcome: OUTCOMES[i % OUTCOMES.length] ?? "failed",
        reason: `${i} ${"é😀x".repeat(7000)}`,
      }),
    );
    const started = performance.now();
    const summary = summarize({ receiverName: "😀".repeat(400), executions });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(summary.length).toBeLessThanOrEqual(MAX_SUMMARY_CHARS);
    expect(summary.endsWith("…")).toBe(true);
    expect(summary).not.toMatch(LONE_SURROGATE);
  });

  it("never splits a surrogate pair when it clips", () => {
    expect(clip("a😀b", 3)).toBe("a…");
    expect(clip("ab😀", 3)).toBe("ab…");
    expect(clip("abc", 3)).toBe("abc");
    expect(plainLine("x\uD800y\uDC00")).toBe("x\uFFFDy\uFFFD");
  });

  it("stays plain and within the bound whatever the executions say (property)", () => {
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 2000 }),
      fc.string({ unit: "grapheme", maxLength: 300 }),
      fc.constantFrom("already at maximum scale 40", "already at minimum scale 1", ""),
    );
    const upgrades = fc.array(
      fc.record({
        serviceId: fc.constantFrom("1s1", "1s2", "1s3"),
        serviceName: text,
        image: text,
        previousImage: fc.option(text, { nil: undefined }),
        steps: fc.array(
          fc.record({
            step: fc.constantFrom("finished", "rolled back", "failed", "skipped", "verifying"),
            at: fc.nat(),
          }),
          { maxLength: 3 },
        ),
        message: fc.option(text, { nil: undefined }),
      }),
      { maxLength: 8 },
    );
    const executions = fc.array(
      fc.record({
        outcome: fc.constantFrom(...OUTCOMES),
        reason: text,
        from: fc.option(fc.nat(1000), { nil: undefined }),
        to: fc.option(fc.nat(1000), { nil: undefined }),
        at: fc.nat(),
        upgrades: fc.option(upgrades, { nil: undefined }),
      }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(
        text,
        fc.option(text, { nil: undefined }),
        executions,
        (receiverName, targetLabel, drawn) => {
          const summary = summarize({
            receiverName,
            ...(targetLabel === undefined ? {} : { targetLabel }),
            executions: drawn.map((fields) => execution(fields)),
          });
          expect(summary.length).toBeLessThanOrEqual(MAX_SUMMARY_CHARS);
          expect(summary).not.toMatch(LONE_SURROGATE);
          expect(summary).not.toMatch(/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u);
        },
      ),
      { numRuns: 60 },
    );
  }, 30_000);

  it("says a test message is one", () => {
    expect(testSummary("scale-web")).toBe("scale-web: test message from rancher-hooks");
  });
});
