import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * The README's table of limits says what the code does: each row is tied to the lines of code that
 * set its values, so changing a limit without the table (or the table without the code) fails here.
 */
const ROOT = new URL("../../", import.meta.url).pathname;
const source = (path: string) => readFileSync(`${ROOT}${path}`, "utf8");
/** Code compared without its whitespace, so that reformatting a line does not break the tie. */
const squeezed = (text: string) => text.replace(/\s+/g, "");

/** The README's limits table: first cell → second cell. */
function limitsTable(): Map<string, string> {
  const readme = source("README.md");
  const start = readme.indexOf("| what ");
  expect(start, "the README has a limits table").toBeGreaterThan(0);
  const rows = readme.slice(start, readme.indexOf("\n\n", start)).split("\n").slice(2);
  return new Map(
    rows.map((row) => {
      const [what = "", limit = ""] = row.split(/\s+\|\s+/).map((cell) => cell.replace(/^\|\s*/, "").trim());
      return [what, limit];
    }),
  );
}

/** Row, what the row must say, and the code that must say the same: [file, text it contains]. */
const LIMITS: [row: string, says: string[], code: [file: string, text: string][]][] = [
  [
    "request body (API, page form, trigger)",
    ["64 KiB", "413 `TooLarge`"],
    [
      ["src/middleware/body.ts", "MAX_BODY_BYTES = 64 * 1024;"],
      ["src/page/routes.tsx", "const formLimit = limitBody();"],
    ],
  ],
  [
    "text repeated from a request",
    ["1,024 characters", "error message", "reason", "longer form value is not shown back"],
    [
      ["src/util/echo.ts", "MAX_ECHO_CHARS = 1024;"],
      ["src/api/errors.ts", "super(clipEcho(message));"],
      ["src/targets/history.ts", "reason: clipEcho(decision.reason),"],
      ["src/page/form.ts", "if (value.length <= MAX_ECHO_CHARS) {"],
    ],
  ],
  [
    "receiver name",
    ["1–128 characters"],
    [["src/receivers/input.ts", "name: z.string().trim().min(1).max(128)"]],
  ],
  [
    "host or service selector",
    ["1–32 labels", "names 1–253 characters", "values up to 253"],
    [
      ["src/drivers/shared/config.ts", ".record(z.string().min(1).max(253), z.string().max(253))"],
      ["src/drivers/shared/config.ts", "Object.keys(selector).length <= 32"],
    ],
  ],
  [
    "`tag` pattern",
    ["up to 128 characters"],
    [["src/drivers/service-upgrade/config.ts", "tag: z.string().trim().min(1).max(128)"]],
  ],
  [
    "scale step (`amount`, `min`, `max`)",
    ["`amount` ≥ 1", "`min` ≥ 0 (default 1)", "`max` ≥ 1 and ≥ `min` (default 100)"],
    [
      ["src/drivers/shared/config.ts", "amount: count(1)"],
      ["src/drivers/shared/config.ts", "min: count(0).default(1)"],
      ["src/drivers/shared/config.ts", "max: count(1)\n    .default(100)"],
      ["src/drivers/shared/config.ts", "if (config.max < config.min)"],
    ],
  ],
  [
    "cooldown (`cooldownSeconds`)",
    ["≥ 0, default 0, no upper bound"],
    [["src/drivers/shared/config.ts", "cooldownSeconds: count(0).default(0).meta"]],
  ],
  [
    "flood allowance (`maxTriggersPerMinute`)",
    ["1–100000, default 600", "refilled at that rate a minute", "`ignored`"],
    [
      ["src/drivers/shared/config.ts", "count(1)\n    .max(100_000)"],
      ["src/targets/admission.ts", "DEFAULT_TRIGGERS_PER_MINUTE = 600;"],
      [
        "src/targets/flood-guard.ts",
        "Math.min(limit, kept.tokens + ((now - kept.updated) * limit) / 60_000)",
      ],
    ],
  ],
  [
    "execution history",
    ["the latest 100 per receiver"],
    [["src/targets/history.ts", "EXECUTIONS_KEPT = 100;"]],
  ],
  [
    "de-duplication window",
    ["10 minutes", "the first 200 characters"],
    [
      ["src/targets/history.ts", "DEDUPLICATION_WINDOW_MS = 10 * 60_000;"],
      ["src/delivery/facts.ts", "MAX_IDENTITY_LENGTH = 200;"],
    ],
  ],
  [
    "sender check",
    ["16–512 characters", "24–64 byte key", "older than 5 minutes", "at most 8 signatures"],
    [
      ["src/senders/verification.ts", "SECRET_MIN_LENGTH = 16;"],
      ["src/senders/verification.ts", "SECRET_MAX_LENGTH = 512;"],
      ["src/senders/verification.ts", "base64 of a 24 to 64 byte key"],
      ["src/senders/verification.ts", "REPLAY_WINDOW_SECONDS = 5 * 60;"],
      ["src/senders/verification.ts", "MAX_SIGNATURES = 8;"],
    ],
  ],
  [
    "list page",
    ["100 receivers", "`limit` up to 1000", "`limit=-1`: 1000"],
    [
      ["src/routes/receivers.ts", "DEFAULT_PAGE = 100;"],
      ["src/routes/receivers.ts", "MAX_PAGE = 1000;"],
      ["src/routes/receivers.ts", "(limit <= 0 ? MAX_PAGE : limit)"],
    ],
  ],
  [
    "key checks",
    ["cached 60 s", "a refusal 5 s", "10,000 decisions"],
    [
      ["src/access/authorize.ts", "ALLOWED_TTL_MS = 60_000;"],
      ["src/access/authorize.ts", "REFUSED_TTL_MS = 5_000;"],
      ["src/access/authorize.ts", "CACHE_ENTRIES = 10_000;"],
    ],
  ],
  [
    "answer to a trigger",
    ["within 6 s", "202 `pending`", "503"],
    [
      ["src/drivers/scale-service/protocol-events.ts", "TRIGGER_DEADLINE_MS = 6_000;"],
      ["src/drivers/scale-host/executor.ts", "STEP_DEADLINE_MS = 6_000;"],
      ["src/drivers/service-upgrade/executor.ts", "LIST_DEADLINE_MS = 6_000;"],
    ],
  ],
  [
    "Cattle requests",
    ["3 attempts of up to 4 s", "50–100 ms then 100–200 ms apart", "2 attempts of up to 5 s"],
    [
      [
        "src/cattle/client.ts",
        "TRIGGER_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 100, timeoutMs: 4_000 }",
      ],
      [
        "src/cattle/client.ts",
        "INTERACTIVE_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 100, timeoutMs: 5_000 }",
      ],
      [
        "src/cattle/client.ts",
        "const delay = baseDelayMs * 2 ** (attempt - 2);\n  return delay / 2 + Math.random() * (delay / 2);",
      ],
    ],
  ],
  [
    "503 `Retry-After`",
    ["5 s when Cattle is unavailable", "2 s when the receiver's object is busy"],
    [
      ["src/drivers/scale-service/scale-writer.ts", "RETRY_AFTER_SECONDS = 5;"],
      ["src/drivers/shared/count-queue.ts", "RETRY_AFTER_SECONDS = 5;"],
      ["src/drivers/service-upgrade/executor.ts", "RETRY_AFTER_SECONDS = 5;"],
      ["src/api/errors.ts", '"retry-after": "5"'],
      ["src/routes/trigger.ts", "const RETRY_AFTER_SECONDS = 2"],
    ],
  ],
  [
    "a `pending` trigger",
    ["after 30 minutes"],
    [["src/drivers/scale-service/protocol-events.ts", "PENDING_GIVE_UP_MS = 30 * 60_000;"]],
  ],
  [
    "upgrades",
    [
      "`batchSize` ≥ 1 (default 1)",
      "`intervalMillis` ≥ 100 (default 2000)",
      "every 250 ms–5 s",
      "after 30 minutes without progress",
    ],
    [
      ["src/drivers/service-upgrade/config.ts", "batchSize: count(1).default(1)"],
      ["src/drivers/service-upgrade/config.ts", "intervalMillis: count(100).default(2000)"],
      ["src/drivers/service-upgrade/executor.ts", "UPGRADE_POLL_MIN_MS = 250;"],
      ["src/drivers/service-upgrade/executor.ts", "UPGRADE_POLL_MAX_MS = 5_000;"],
      ["src/drivers/service-upgrade/upgrade-queue.ts", "STALL_MS = 30 * 60_000;"],
    ],
  ],
  [
    "upgrade checks",
    [
      "`healthySeconds` 0–3600 (default 60)",
      "`healthTimeoutSeconds` 10–7200 (default 600)",
      "restarting 2 times fails",
      "ignored for 24 hours",
    ],
    [
      ["src/drivers/service-upgrade/verify.ts", "healthySeconds: 60,"],
      ["src/drivers/service-upgrade/verify.ts", "healthTimeoutSeconds: 600,"],
      ["src/drivers/service-upgrade/config.ts", "healthySeconds: count(0)\n        .max(3600)"],
      ["src/drivers/service-upgrade/config.ts", "healthTimeoutSeconds: count(10)\n        .max(7200)"],
      ["src/drivers/service-upgrade/verify.ts", "RESTART_LIMIT = 2;"],
      ["src/drivers/service-upgrade/upgrade-queue.ts", "ROLLED_BACK_MEMORY_MS = 24 * 3_600_000;"],
    ],
  ],
  [
    "notifications",
    [
      "5 destinations a receiver",
      "URLs up to 2048 bytes",
      "a window of 0–300 s (default 10)",
      "1 request a second to a destination",
      "retried for 24 hours",
      "the latest 100 deliveries kept",
    ],
    [
      ["src/domain/notifications.ts", "MAX_DESTINATIONS = 5;"],
      ["src/domain/notifications.ts", "MAX_DESTINATION_URL_BYTES = 2048;"],
      ["src/domain/notifications.ts", "NOTIFY_WINDOW_SECONDS = { min: 0, max: 300, default: 10 }"],
      ["src/notifications/outbox.ts", "DESTINATION_SPACING_MS = 1_000;"],
      ["src/notifications/outbox.ts", "RETRY_FOR_MS = 24 * 60 * 60_000;"],
      ["src/notifications/outbox.ts", "DELIVERIES_KEPT = 100;"],
    ],
  ],
  [
    "objects on Deno KV (Deno Deploy)",
    [
      "a 12 s lease per target",
      "taken once it runs out (+1 s)",
      "not take within 8 s: 503, nothing written",
      "idle 30 s: let go",
    ],
    [
      ["src/storage/kv/lease.ts", "LEASE_MS = 12_000;"],
      ["src/storage/kv/lease.ts", "CLOCK_SKEW_MS = 1_000;"],
      ["src/storage/kv/objects.ts", "takeWaitMs: 8_000,"],
      ["src/storage/kv/objects.ts", "idleMs: 30_000,"],
    ],
  ],
];

describe("the README's limits", () => {
  const table = limitsTable();

  it("has one row for each limit checked here, and no other", () => {
    expect([...table.keys()].sort()).toEqual(LIMITS.map(([row]) => row).sort());
  });

  it.each(LIMITS)("%s: the row and the code agree", (row, says, code) => {
    for (const text of says) expect(table.get(row), `the README's row "${row}"`).toContain(text);
    for (const [file, text] of code) {
      expect(squeezed(source(file)), `${file} still says ${JSON.stringify(text)}`).toContain(squeezed(text));
    }
  });
});
