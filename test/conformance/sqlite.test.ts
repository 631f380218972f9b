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
 * moves on whenever every call waits.
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

describeTargetPort("node:sqlite", () => ({
  target: (name) => asyncPort<TargetMethods>(targetNamed(name).core),
  query: async (name, statement) => targetNamed(name).storage.sql.exec(statement).toArray(),
  settle: (work) => clock.run(work),
}));

describeProjectPort("node:sqlite", () => ({
  project: (name) => asyncPort<ProjectMethods>(new ProjectCore(storageNamed(name))),
  restart: async (name) => asyncPort<ProjectMethods>(new ProjectCore(storageNamed(name))),
}));
