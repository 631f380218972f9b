import { exports } from "cloudflare:workers";
import type { Settings } from "../src/domain/settings";
import app from "../src/index";

/** Where the worker under test is addressed; any origin works, receivers echo it in their URLs. */
export const ORIGIN = "http://hooks.test";
export const EMULATOR = "http://127.0.0.1:8788";

export const KEYS = {
  dev: "dev-access:dev-secret",
  readonly: "readonly-access:readonly-secret",
  other: "other-access:other-secret",
  wrong: "dev-access:not-the-secret",
} as const;

export interface CallOptions {
  method?: string;
  key?: string | null;
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
}

/** A request to the worker under test, through its default export. */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? KEYS.dev : options.key;
  if (key !== null) headers.authorization = `Basic ${btoa(key)}`;
  let body = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, { method: options.method ?? "GET", headers, body }),
  );
}

export async function json<T = Record<string, any>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

export function scaleServiceBody(config: Record<string, unknown> = {}, name = uniqueName()) {
  return {
    name,
    driver: "scaleService",
    scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 10, ...config },
  };
}

let counter = 0;
export const uniqueName = (prefix = "hook") => `${prefix}-${Date.now().toString(36)}-${++counter}`;

export async function createReceiver(
  config: Record<string, unknown> = {},
  projectId = "1a5",
  key: string = KEYS.dev,
) {
  const response = await call(`/v1-webhooks/receivers?projectId=${projectId}`, {
    method: "POST",
    key,
    body: scaleServiceBody(config),
  });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${await response.text()}`);
  return json(response);
}

/** POSTs a trigger URL (absolute, as the API returns it) to the worker under test. */
export function trigger(url: string, init: RequestInit = {}): Promise<Response> {
  const { pathname, search } = new URL(url);
  return exports.default.fetch(new Request(`${ORIGIN}${pathname}${search}`, { method: "POST", ...init }));
}

// The emulator, reached through the test runner's outbound fetch.
async function emulator(path: string, init: RequestInit = {}) {
  const response = await fetch(`${EMULATOR}${path}`, init);
  if (!response.ok) throw new Error(`emulator ${path}: ${response.status} ${await response.text()}`);
  return response;
}

export const resetEmulator = () => emulator("/_emulator/reset", { method: "POST" });

export interface Faults {
  status?: number;
  count?: number;
  delayMs?: number;
  lateMs?: number;
  lateCount?: number;
  dropCount?: number;
  hostFailures?: number;
}

export const setFaults = (faults: Faults) =>
  emulator("/_emulator/faults", {
    method: "POST",
    body: JSON.stringify(faults),
    headers: { "content-type": "application/json" },
  });

/** How long the emulator's processes run and how long a write waits for one (docs/how-it-works.md). */
export const setEmulatorConfig = (config: {
  transitionMs?: number;
  lockWaitMs?: number;
  hostProvisionMs?: number;
  requireHeaders?: Record<string, string>;
}) =>
  emulator("/_emulator/config", {
    method: "POST",
    body: JSON.stringify(config),
    headers: { "content-type": "application/json" },
  });

/** Polls a receiver's executions until none is `pending` any more (or the time is up). */
export async function settledExecutions(
  receiverId: string,
  projectId = "1a5",
  key: string = KEYS.dev,
  timeoutMs = 30_000,
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const response = await call(`/v1-webhooks/receivers/${receiverId}/executions?projectId=${projectId}`, {
      key,
    });
    const executions = (await json<{ data: Record<string, any>[] }>(response)).data;
    if (!executions.some((execution) => execution.outcome === "pending") || Date.now() > until)
      return executions;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface EmulatorStats {
  total: number;
  byMethod: Record<string, number>;
  byPath: Record<string, Record<string, number>>;
  hosts: Record<string, number>;
  /** Writes addressed to one service, and those that arrived while another to it was in flight. */
  writes: number;
  overlappingWrites: number;
  maxInFlight: Record<string, number>;
  inFlight: Record<string, number>;
}

export const emulatorStats = async (): Promise<EmulatorStats> => (await emulator("/_emulator/stats")).json();

export async function cattleService(serviceId: string, projectId = "1a5", key: string = KEYS.dev) {
  const response = await emulator(`/v2-beta/projects/${projectId}/services/${serviceId}`, {
    headers: { authorization: `Basic ${btoa(key)}` },
  });
  return (await response.json()) as { scale: number; state: string; transitioning: string };
}

export async function setScale(serviceId: string, scale: number, projectId = "1a5") {
  await emulator(`/v2-beta/projects/${projectId}/services/${serviceId}`, {
    method: "PUT",
    body: JSON.stringify({ scale }),
    headers: { authorization: `Basic ${btoa(KEYS.dev)}`, "content-type": "application/json" },
  });
  await waitForActive(serviceId, projectId);
}

/** Waits until a service has left its transition (the emulator takes EMULATOR_TRANSITION_MS). */
export async function waitForActive(serviceId: string, projectId = "1a5") {
  for (let i = 0; i < 100; i++) {
    const service = await cattleService(serviceId, projectId);
    if (service.transitioning !== "yes") return service;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`service ${serviceId} stayed in transition`);
}

/** Waits for the receiver's execution `id` to leave `queued` and `pending`; upgrades take a few transitions. */
export async function settledExecution(receiverId: string, executionId: string, projectId = "1a5") {
  for (let i = 0; i < 150; i++) {
    const list = await json(
      await call(`/v1-webhooks/receivers/${receiverId}/executions?projectId=${projectId}`),
    );
    const execution = list.data.find((item: { id: string }) => item.id === executionId);
    if (execution && execution.outcome !== "queued" && execution.outcome !== "pending") return execution;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`execution ${executionId} did not settle`);
}

/** A service in the emulator's environment 1a5, active, running `image` with `labels`. */
export async function createService(name: string, image: string, labels: Record<string, string>) {
  const response = await emulator("/v2-beta/projects/1a5/services", {
    method: "POST",
    headers: { authorization: `Basic ${btoa(KEYS.dev)}`, "content-type": "application/json" },
    body: JSON.stringify({ name, scale: 1, launchConfig: { imageUuid: `docker:${image}`, labels } }),
  });
  if (response.status >= 300)
    throw new Error(`creating ${name}: ${response.status} ${await response.text()}`);
  const { id } = (await response.json()) as { id: string };
  await waitForActive(id);
  return id;
}

/** The image a service's primary launch config runs, without `docker:`. */
export async function imageOf(serviceId: string) {
  const response = await emulator(`/v2-beta/projects/1a5/services/${serviceId}`, {
    headers: { authorization: `Basic ${btoa(KEYS.dev)}` },
  });
  const service = (await response.json()) as { launchConfig: { imageUuid: string } };
  return service.launchConfig.imageUuid.replace(/^docker:/, "");
}

/** A request to the service as the Worker with other bindings than the test's own would answer it. */
export function withBindings(
  path: string,
  init: RequestInit,
  bindings: Env & Partial<Settings>,
): Promise<Response> {
  return app.fetch(new Request(new URL(path, ORIGIN), init), bindings);
}
