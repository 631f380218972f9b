import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { Platform, Project, Target } from "../../src/domain/ports";
import type { Settings } from "../../src/domain/settings";

const settings: Settings = {
  CATTLE_URL: "http://cattle.test/v2-beta",
  CATTLE_ACCESS_KEY: "service",
  CATTLE_SECRET_KEY: "secret",
  WEBHOOK_SIGNING_KEYS: "",
};

describe("the trigger route of a webhook-service URL", () => {
  it("answers 503 with Retry-After when the environment's object cannot answer, and calls no target", async () => {
    // Over Deno KV an object call may fail (its holder stopped, or did not take the call in time):
    // nothing was decided, so the sender is told to try again rather than given a 500.
    const targets: string[] = [];
    const platform = {
      receivers: undefined as never,
      project: () =>
        ({
          legacyRoute: async () => {
            throw Object.assign(new Error("the object did not take the call in time"), {
              name: "ObjectUnavailable",
            });
          },
        }) as unknown as Project,
      target: (name: string) => {
        targets.push(name);
        return {} as Target;
      },
    } as Platform;
    const app = createApp(() => platform);
    const response = await app.fetch(
      new Request(`http://hooks.test/v1-webhooks/endpoint?key=${"k".repeat(40)}&projectId=1a5`, {
        method: "POST",
      }),
      settings,
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(((await response.json()) as { code: string }).code).toBe("ServiceUnavailable");
    expect(targets).toEqual([]);
  });
});
