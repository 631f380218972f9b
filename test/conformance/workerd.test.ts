import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { beforeEach } from "vitest";
import { cloudflarePlatform } from "../../src/platform/cloudflare";
import { resetEmulator } from "../helpers";
import { describeProjectPort } from "./project";
import { describeTargetPort } from "./target";

/**
 * The ports as the Worker reaches them: the Cloudflare platform's Durable Object stubs, every call
 * over RPC to an object in workerd, triggers against the emulator. Each test run starts with
 * fresh storage, so an object's name is new to it.
 */

beforeEach(async () => {
  await resetEmulator();
});

const platform = () => cloudflarePlatform(env);

describeTargetPort("workerd", () => ({
  target: (name) => platform().target(name),
  query: (name, statement) =>
    runInDurableObject(env.TARGETS.getByName(name), (_object, state) =>
      state.storage.sql.exec(statement).toArray(),
    ),
  settle: (work) => work,
  restart: async (name) => {
    await evictDurableObject(env.TARGETS.getByName(name));
    return platform().target(name);
  },
}));

describeProjectPort("workerd", () => ({
  project: (name) => platform().project(name),
  restart: async (name) => {
    await evictDurableObject(env.PROJECTS.getByName(name));
    return platform().project(name);
  },
}));
