import { beforeEach } from "vitest";
import type { ProjectMethods, TargetMethods } from "../../src/domain/ports";
import { ProjectCore } from "../../src/project/core";
import type { ObjectStorage } from "../../src/storage/object-storage";
import { asyncPort } from "../../src/util/async-port";
import { FakeCattle, FakeClock, memoryStorage, newTarget } from "../core/fakes";
import { describeProjectPort } from "./project";
import { describeTargetPort } from "./target";

/**
 * The ports over the cores themselves, on node:sqlite (and on Deno's, when vitest runs on Deno):
 * each object is its core's methods answering promises, with a fake Cattle and a fake clock that
 * moves on whenever every call waits for it.
 */

let clock = new FakeClock();
let cattle = new FakeCattle(clock);
const targets = new Map<string, ReturnType<typeof newTarget>>();
const projects = new Map<string, ObjectStorage>();

beforeEach(() => {
  clock = new FakeClock();
  cattle = new FakeCattle(clock);
  targets.clear();
  projects.clear();
});

const targetNamed = (name: string) => {
  let target = targets.get(name);
  if (!target) {
    target = newTarget(clock, cattle);
    targets.set(name, target);
  }
  return target;
};

const storageNamed = (name: string) => {
  let storage = projects.get(name);
  if (!storage) {
    storage = memoryStorage();
    projects.set(name, storage);
  }
  return storage;
};

/**
 * Waits for calls on the fake clock. A sender check runs in WebCrypto, which answers after real
 * time from outside the event loop: while no sleeper is there to wake, the clock cannot be what
 * the work waits for, so real time is given to it before the work is called stuck.
 */
async function settle<T>(work: Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await clock.run(work);
    } catch (error) {
      const stuck =
        error instanceof Error && error.message === "the work waits for something that never comes";
      if (!stuck || clock.pending > 0 || attempt >= 500) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describeTargetPort("node:sqlite", () => ({
  target: (name) => asyncPort<TargetMethods>(targetNamed(name).core),
  query: async (name, statement) => targetNamed(name).storage.sql.exec(statement).toArray(),
  settle,
  restart: async (name) => {
    const before = targetNamed(name);
    // Whatever the old object still asks Cattle never comes back, as after a process ends.
    before.stop();
    const after = newTarget(clock, cattle, before.storage);
    targets.set(name, after);
    return asyncPort<TargetMethods>(after.core);
  },
}));

describeProjectPort("node:sqlite", () => ({
  project: (name) => asyncPort<ProjectMethods>(new ProjectCore(storageNamed(name))),
  restart: async (name) => asyncPort<ProjectMethods>(new ProjectCore(storageNamed(name))),
}));
