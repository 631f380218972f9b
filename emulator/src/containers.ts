import type { ContainerLife, ResourceRecord } from "./model";

/**
 * Containers (emulator/README.md, Containers). A container keeps the times it was started, stopped and
 * removed; its state, health and start count are worked out from those and the time of the read, as
 * every other transition of the emulator is.
 */

/** Cattle's label naming the launch config a container runs; the primary's value is this one. */
export const LAUNCH_CONFIG_LABEL = "io.rancher.service.launch.config";
export const PRIMARY_LAUNCH_CONFIG = "io.rancher.service.primary.launch.config";

/** What a container is made from: one launch config of a service, in one deployment unit. */
export interface ContainerSpec {
  id: string;
  projectId: string;
  uuid: string;
  serviceId: string;
  stackName: string;
  serviceName: string;
  /** The launch config's name: PRIMARY_LAUNCH_CONFIG for the primary, else the sidekick's name. */
  launchConfig: string;
  config: Record<string, unknown>;
  unit: number;
  deploymentUnitUuid: string;
  createIndex: number;
  at: number;
  healthyMs: number;
  unhealthy: boolean;
  startCount?: number;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A launch config with a health check object (Cattle's `instanceHealthCheck`) gives its containers one. */
export const hasHealthCheck = (config: Record<string, unknown>): boolean => isObject(config.healthCheck);

/** An image reference without Cattle's `docker:` prefix, so that both spellings compare equal. */
export const bareImage = (image: string): string => image.replace(/^docker:/i, "");

/** Whether the `unhealthyImage` fault names a container's image, with or without `docker:` on either side. */
export const imageMatches = (imageUuid: unknown, faultImage: string | null): boolean =>
  faultImage !== null && typeof imageUuid === "string" && bareImage(imageUuid) === bareImage(faultImage);

/**
 * Cattle's instance name (`ServiceDiscoveryUtil.generateServiceInstanceName`): `<stack>-<service>-<n>`
 * for the primary, `<stack>-<service>-<sidekick>-<n>` for a sidekick, `n` being the deployment unit's
 * service index — which the containers an upgrade starts in that unit share with the ones they replace.
 */
export function containerName(stack: string, service: string, launchConfig: string, unit: number): string {
  return launchConfig === PRIMARY_LAUNCH_CONFIG
    ? `${stack}-${service}-${unit}`
    : `${stack}-${service}-${launchConfig}-${unit}`;
}

/** A container started at `spec.at`, running the launch config as it is now. */
export function newContainer(spec: ContainerSpec): ResourceRecord {
  const configLabels = isObject(spec.config.labels) ? spec.config.labels : {};
  const life: ContainerLife = {
    launchConfig: spec.launchConfig,
    unit: spec.unit,
    startedAt: spec.at,
    startCount: spec.startCount ?? 1,
    firstRunning: spec.at,
    stoppedAt: null,
    removedAt: null,
    healthCheck: hasHealthCheck(spec.config),
    unhealthy: spec.unhealthy,
    healthyMs: spec.healthyMs,
    managed: true,
  };
  return {
    id: spec.id,
    type: "container",
    projectId: spec.projectId,
    uuid: spec.uuid,
    created: spec.at,
    removed: null,
    state: "running",
    pending: [],
    life,
    data: {
      name: containerName(spec.stackName, spec.serviceName, spec.launchConfig, spec.unit),
      kind: "container",
      imageUuid: spec.config.imageUuid ?? null,
      version: spec.config.version ?? "0",
      serviceId: spec.serviceId,
      serviceIds: [spec.serviceId],
      createIndex: spec.createIndex,
      deploymentUnitUuid: spec.deploymentUnitUuid,
      // The labels Cattle adds to every service container (ServiceDiscoveryConstants' LABEL_*).
      labels: {
        ...configLabels,
        [LAUNCH_CONFIG_LABEL]: spec.launchConfig,
        "io.rancher.stack.name": spec.stackName,
        "io.rancher.stack_service.name": `${spec.stackName}/${spec.serviceName}`,
        "io.rancher.service.deployment.unit": spec.deploymentUnitUuid,
      },
    },
  };
}

/** How often a container whose image the fault names is restarted when nothing checks its health. */
const restartEvery = (life: ContainerLife): number => Math.max(1, life.healthyMs);

/** The start count at `at`: a container without a health check under `unhealthyImage` keeps restarting. */
function startCountAt(life: ContainerLife, at: number): number {
  if (!life.unhealthy || life.healthCheck) return life.startCount;
  return life.startCount + Math.floor(Math.max(0, at - life.startedAt) / restartEvery(life));
}

/**
 * Health as Cattle's health checks report it: null without a check; `initializing` after the first
 * start (`reinitializing` after a restart) until `healthyMs` has passed, then `healthy` — or `unhealthy`
 * for an image the fault names. A stopped container keeps what it showed when it stopped.
 */
function healthAt(life: ContainerLife, at: number): string | null {
  if (!life.healthCheck) return null;
  if (at - life.startedAt < life.healthyMs) return life.startCount > 1 ? "reinitializing" : "initializing";
  return life.unhealthy ? "unhealthy" : "healthy";
}

/** Works out where a container is at `now` and writes it into the record for rendering. */
export function resolveContainer(record: ResourceRecord, now: number): void {
  const life = record.life;
  if (!life) return;
  const removed = life.removedAt !== null && life.removedAt <= now;
  const stopped = life.stoppedAt !== null && life.stoppedAt <= now;
  const seenAt = stopped ? (life.stoppedAt as number) : now;
  record.state = removed ? "removed" : stopped ? "stopped" : "running";
  record.removed = removed ? life.removedAt : null;
  record.data.healthState = healthAt(life, seenAt);
  record.data.startCount = startCountAt(life, seenAt);
  record.data.firstRunning = new Date(life.firstRunning).toISOString();
}

/**
 * Cattle renames a service's instances with the service (`updateServiceName`); the label naming the
 * service follows too.
 */
export function renameContainer(record: ResourceRecord, stack: string, service: string): void {
  const life = record.life;
  if (!life) return;
  record.data.name = containerName(stack, service, life.launchConfig, life.unit);
  const labels = record.data.labels as Record<string, unknown>;
  record.data.labels = { ...labels, "io.rancher.stack_service.name": `${stack}/${service}` };
}

/** Not removed (or not yet at `at`). */
export const isLive = (record: ResourceRecord, at: number): boolean =>
  record.life !== undefined && (record.life.removedAt === null || record.life.removedAt > at);

export const isRunningAt = (record: ResourceRecord, at: number): boolean =>
  isLive(record, at) && (record.life?.stoppedAt === null || (record.life?.stoppedAt as number) > at);

/** Cattle's `instance.stop`, at `at`; a container already stopped by then stays as it is. */
export function stopContainer(record: ResourceRecord, at: number): void {
  const life = record.life;
  if (!life || !isRunningAt(record, at)) return;
  life.stoppedAt = at;
}

/** `instance.stop` chained to `instance.remove`, as Cattle removes a running container. */
export function removeContainer(record: ResourceRecord, at: number): void {
  const life = record.life;
  if (!life || !isLive(record, at)) return;
  stopContainer(record, at);
  life.removedAt = at;
}

/** `instance.start` of a stopped container: it runs again from `at`, its start count one higher. */
export function startContainer(record: ResourceRecord, at: number): void {
  const life = record.life;
  if (!life || !isLive(record, at) || isRunningAt(record, at)) return;
  life.startCount = startCountAt(life, life.stoppedAt ?? at) + 1;
  life.startedAt = at;
  life.stoppedAt = null;
}

/** Cattle's restart: stop and start again at `at`. */
export function restartContainer(record: ResourceRecord, at: number): void {
  stopContainer(record, at);
  startContainer(record, at);
}
