import { newContainer, PRIMARY_LAUNCH_CONFIG } from "./containers";
import type { ResourceRecord, World } from "./model";

/** Bump when the seed's shape changes, so a persisted world from an older emulator is re-seeded. */
export const SEED_VERSION = 5;

/**
 * The health check of the seeded api (1s5): Cattle's `instanceHealthCheck` as the Rancher UI fills it.
 * Its sidekick and the worker (1s6) have none.
 */
export const API_HEALTH_CHECK = {
  type: "instanceHealthCheck",
  port: 8080,
  requestLine: "GET /healthz HTTP/1.0",
  interval: 2000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  responseTimeout: 2000,
  strategy: "recreate",
};

const at = (iso: string): number => Date.parse(iso);

function record(
  partial: Pick<ResourceRecord, "id" | "type" | "projectId" | "uuid" | "created"> & {
    state?: string;
    data: Record<string, unknown>;
  },
): ResourceRecord {
  return { removed: null, pending: [], state: "active", ...partial };
}

const GLOBAL_LABEL = "io.rancher.scheduler.global";

function launchConfig(
  imageUuid: string,
  labels: Record<string, string>,
  extra: Record<string, unknown> = {},
) {
  return { imageUuid, kind: "container", labels, networkMode: "managed", version: "0", ...extra };
}

/**
 * What Rancher's webhook-service (v0.9.15, `service/construct_handler.go`) wrote for a receiver: a
 * generic object of kind `webhookReceiver` whose `key` is the URL's secret (`uniuri.NewLen(40)`:
 * letters and digits) and whose `resourceData` holds the URL, the driver and the driver's config as
 * its `model` package marshals it (JSON names, zero values left out by `omitempty`). The URL's origin
 * is the Rancher server's as the original saw it through Rancher's proxy: here the emulator's, which
 * stands in for Rancher in development.
 */
function legacyReceiver(
  id: string,
  created: string,
  name: string,
  key: string,
  driver: string,
  config: Record<string, unknown>,
): ResourceRecord {
  return record({
    id,
    type: "genericObject",
    projectId: "1a5",
    uuid: `9a3c1e70-4b2d-4f6a-8c1e-${id.slice(3).padStart(12, "0")}`,
    created: at(created),
    data: {
      name,
      kind: "webhookReceiver",
      key,
      description: null,
      resourceData: {
        url: `${LEGACY_RANCHER_ORIGIN}/v1-webhooks/endpoint?key=${key}&projectId=1a5`,
        driver,
        config,
      },
    },
  });
}

/** The Rancher server the seeded legacy receivers were created on: the emulator on `npm run dev`. */
export const LEGACY_RANCHER_ORIGIN = "http://127.0.0.1:8788";

/**
 * The seed world (docs/development.md): project 1a5 with six services (1s5 with a sidekick and 1s6 sharing its
 * primary image, for upgrade tests), three amazonec2 hosts, a custom host, a host template and two
 * receivers of the original webhook-service (docs/migrating.md); project 1a7 with one service; and
 * the services' containers (emulator/README.md, Containers).
 */
export function seedWorld(): World {
  const records: ResourceRecord[] = [
    record({
      id: "1a5",
      type: "project",
      projectId: "1a5",
      uuid: "adminProject",
      created: at("2026-01-05T09:00:00Z"),
      data: {
        name: "Default",
        description: "Default environment",
        kind: "project",
        orchestration: "cattle",
        healthState: "healthy",
        allowSystemRole: false,
        virtualMachine: false,
        defaultNetworkId: null,
        hostRemoveDelaySeconds: 0,
        servicesPortRange: { type: "servicesPortRange", startPort: 20000, endPort: 65535 },
        projectTemplateId: null,
        version: "2",
      },
    }),
    record({
      id: "1a7",
      type: "project",
      projectId: "1a7",
      uuid: "8b1f7c2e-0c55-4f6e-9d3a-7a1a7a1a7a17",
      created: at("2026-01-05T09:30:00Z"),
      data: {
        name: "Other",
        description: "Second environment",
        kind: "project",
        orchestration: "cattle",
        healthState: "healthy",
        allowSystemRole: false,
        virtualMachine: false,
        defaultNetworkId: null,
        hostRemoveDelaySeconds: 0,
        servicesPortRange: { type: "servicesPortRange", startPort: 20000, endPort: 65535 },
        projectTemplateId: null,
        version: "2",
      },
    }),
    record({
      id: "1st1",
      type: "stack",
      projectId: "1a5",
      uuid: "0d4c5a8e-1f0b-4a55-8a9e-5c1e1e1e1st1",
      created: at("2026-01-05T09:50:00Z"),
      data: { name: "Default", kind: "stack", healthState: "healthy", system: false, startOnCreate: true },
    }),
    record({
      id: "1st2",
      type: "stack",
      projectId: "1a7",
      uuid: "0d4c5a8e-1f0b-4a55-8a9e-5c1e1e1e1st2",
      created: at("2026-01-05T09:55:00Z"),
      data: { name: "Default", kind: "stack", healthState: "healthy", system: false, startOnCreate: true },
    }),
    record({
      id: "1s1",
      type: "service",
      projectId: "1a5",
      uuid: "3f0e9a52-7b1c-4d2e-9f4a-111111111111",
      created: at("2026-01-05T10:00:00Z"),
      data: {
        name: "web",
        kind: "service",
        stackId: "1st1",
        scale: 1,
        currentScale: 1,
        startOnCreate: true,
        system: false,
        launchConfig: launchConfig("docker:nginx:1.25", { app: "web" }, { ports: ["8080:80/tcp"] }),
      },
    }),
    record({
      id: "1s2",
      type: "loadBalancerService",
      projectId: "1a5",
      uuid: "3f0e9a52-7b1c-4d2e-9f4a-222222222222",
      created: at("2026-01-05T10:01:00Z"),
      data: {
        name: "lb",
        kind: "loadBalancerService",
        stackId: "1st1",
        scale: 1,
        currentScale: 1,
        startOnCreate: true,
        system: false,
        launchConfig: launchConfig(
          "docker:rancher/lb-service-haproxy:v0.9.1",
          {
            "io.rancher.container.agent_service.drain_provider": "true",
            "io.rancher.container.agent.role": "environmentAdmin",
            "io.rancher.container.create_agent": "true",
          },
          { ports: ["80:80/tcp"] },
        ),
        lbConfig: {
          type: "lbConfig",
          portRules: [
            {
              type: "portRule",
              protocol: "http",
              serviceId: "1s1",
              sourcePort: 80,
              targetPort: 80,
              priority: 1,
            },
          ],
          certificateIds: [],
          defaultCertificateId: null,
          config: null,
          stickinessPolicy: null,
        },
      },
    }),
    record({
      id: "1s3",
      type: "externalService",
      projectId: "1a5",
      uuid: "3f0e9a52-7b1c-4d2e-9f4a-333333333333",
      created: at("2026-01-05T10:02:00Z"),
      data: {
        name: "ext",
        kind: "externalService",
        stackId: "1st1",
        startOnCreate: true,
        system: false,
        externalIpAddresses: ["203.0.113.10", "203.0.113.11"],
        hostname: null,
      },
    }),
    record({
      id: "1s4",
      type: "service",
      projectId: "1a5",
      uuid: "3f0e9a52-7b1c-4d2e-9f4a-444444444444",
      created: at("2026-01-05T10:03:00Z"),
      data: {
        name: "agent",
        kind: "service",
        stackId: "1st1",
        // A global service runs one container per host; its scale field is not what decides that.
        scale: 1,
        currentScale: 3,
        startOnCreate: true,
        system: false,
        launchConfig: launchConfig("docker:busybox:1.36", { [GLOBAL_LABEL]: "true" }),
      },
    }),
    record({
      id: "1s5",
      type: "service",
      projectId: "1a5",
      uuid: "3f0e9a52-7b1c-4d2e-9f4a-555555555555",
      created: at("2026-01-05T10:04:00Z"),
      data: {
        name: "api",
        kind: "service",
        stackId: "1st1",
        scale: 2,
        currentScale: 2,
        startOnCreate: true,
        system: false,
        launchConfig: launchConfig(
          "docker:myorg/api:1.0.0",
          { app: "api", tier: "backend" },
          { healthCheck: API_HEALTH_CHECK },
        ),
        secondaryLaunchConfigs: [
          { name: "api-sidecar", ...launchConfig("docker:myorg/sidecar:2.1", { app: "api" }) },
        ],
      },
    }),
    record({
      id: "1s6",
      type: "service",
      projectId: "1a5",
      uuid: "3f0e9a52-7b1c-4d2e-9f4a-666666666666",
      created: at("2026-01-05T10:05:00Z"),
      data: {
        name: "worker",
        kind: "service",
        stackId: "1st1",
        scale: 1,
        currentScale: 1,
        startOnCreate: true,
        system: false,
        launchConfig: launchConfig("docker:myorg/api:1.0.0", { app: "worker", tier: "backend" }),
      },
    }),
    record({
      id: "1s9",
      type: "service",
      projectId: "1a7",
      uuid: "3f0e9a52-7b1c-4d2e-9f4a-999999999999",
      created: at("2026-01-05T10:09:00Z"),
      data: {
        name: "api",
        kind: "service",
        stackId: "1st2",
        scale: 1,
        currentScale: 1,
        startOnCreate: true,
        system: false,
        launchConfig: launchConfig("docker:httpd:2.4", { app: "api" }),
      },
    }),
    ...[1, 2, 3].map((n) =>
      record({
        id: `1h${n}`,
        type: "host",
        projectId: "1a5",
        uuid: `5e0c1d2a-6b3f-4c8d-8e9f-00000000000${n}`,
        created: at(`2026-01-04T${String(7 + n).padStart(2, "0")}:00:00Z`),
        data: {
          name: null,
          kind: "host",
          hostname: `worker${n}`,
          driver: "amazonec2",
          agentState: "active",
          agentIpAddress: `10.0.0.1${n}`,
          labels: { pool: "workers" },
          amazonec2Config: {
            type: "amazonec2Config",
            region: "us-east-1",
            zone: "a",
            instanceType: "t2.micro",
            ami: "ami-0c55b159cbfafe1f0",
            vpcId: "vpc-0a1b2c3d",
            subnetId: "subnet-0a1b2c3d",
            securityGroup: ["rancher-machine"],
            rootSize: "16",
            sshUser: "ubuntu",
          },
          hostTemplateId: null,
          info: null,
          memory: 1024,
          milliCpu: 1000,
          localStorageMb: 16384,
        },
      }),
    ),
    // A custom host (registered with the agent command, no machine driver): it cannot be cloned.
    record({
      id: "1h4",
      type: "host",
      projectId: "1a5",
      uuid: "5e0c1d2a-6b3f-4c8d-8e9f-000000000004",
      created: at("2026-01-04T11:00:00Z"),
      data: {
        name: null,
        kind: "host",
        hostname: "custom1",
        driver: null,
        agentState: "active",
        agentIpAddress: "10.0.1.21",
        labels: { pool: "custom" },
        hostTemplateId: null,
        info: null,
        memory: 2048,
        milliCpu: 2000,
        localStorageMb: 32768,
      },
    }),
    record({
      id: "1ht1",
      type: "hostTemplate",
      projectId: "1a5",
      uuid: "7c2d3e4f-5a6b-4c7d-8e9f-0000000001f1",
      created: at("2026-01-04T12:00:00Z"),
      data: {
        name: "small-ec2",
        description: null,
        kind: "hostTemplate",
        driver: "amazonec2",
        flavorPrefix: null,
        // Cattle keys both maps by the driver's config field (HostTemplateValidationFilter).
        publicValues: { amazonec2Config: { region: "us-east-1", instanceType: "t2.small" } },
        secretValues: { amazonec2Config: { accessKey: "AKIAEMULATOR", secretKey: "emulator-secret" } },
      },
    }),
    // Made in the Rancher UI, which sends the config's `type` (the driver's name).
    legacyReceiver(
      "1go1",
      "2026-01-06T09:00:00Z",
      "scale-web-up",
      "pqBYqbi51bUmXMQ4vAgQKoFSNjRRcKTfZkG9ZoB7",
      "scaleService",
      { serviceId: "1s1", amount: 1, action: "up", min: 1, max: 5, type: "scaleService" },
    ),
    // Made with curl as Rancher's documentation shows it: no `type`, the original's names and units —
    // `azure` for Azure Container Registry, `intervalMillis` in seconds (the original multiplied it
    // by 1000 before upgrading), `addressType` left out as empty.
    legacyReceiver(
      "1go2",
      "2026-01-06T09:30:00Z",
      "upgrade-api-acr",
      "BlhSL3f1PSCFpbk47GqDYjOk7MAPh1UUAkkWvOe8",
      "serviceUpgrade",
      {
        serviceSelector: { app: "api" },
        tag: "latest",
        payloadFormat: "azure",
        batchSize: 1,
        intervalMillis: 5,
        startFirst: true,
      },
    ),
  ];
  const containers = seedContainers(records);
  return {
    sequences: {
      "1s": 10,
      "1h": 5,
      "1ht": 2,
      "1ee": 1,
      "1go": 3,
      "1st": 3,
      "1a": 8,
      "1i": containers.length + 1,
    },
    records: [...records, ...containers],
  };
}

/**
 * The seeded services' containers, running since their service was created, healthy where checked,
 * started once: `currentScale` deployment units of one container per launch config.
 */
function seedContainers(records: readonly ResourceRecord[]): ResourceRecord[] {
  const containers: ResourceRecord[] = [];
  for (const service of records) {
    if (service.type !== "service" && service.type !== "loadBalancerService") continue;
    const stack = records.find((candidate) => candidate.id === service.data.stackId);
    const serviceName = String(service.data.name);
    const configs: [string, Record<string, unknown>][] = [
      [PRIMARY_LAUNCH_CONFIG, service.data.launchConfig as Record<string, unknown>],
      ...((service.data.secondaryLaunchConfigs ?? []) as Record<string, unknown>[]).map(
        (config): [string, Record<string, unknown>] => [String(config.name), config],
      ),
    ];
    let createIndex = 0;
    for (let unit = 1; unit <= Number(service.data.currentScale); unit += 1) {
      const unitUuid = `6d1f0a3b-2c4e-4f5a-9b8c-${service.id.slice(2).padStart(6, "0")}${String(unit).padStart(6, "0")}`;
      for (const [name, config] of configs) {
        createIndex += 1;
        const n = containers.length + 1;
        containers.push(
          newContainer({
            id: `1i${n}`,
            projectId: service.projectId,
            uuid: `8e2a4c6d-1b3f-4a5c-8d7e-${String(n).padStart(12, "0")}`,
            serviceId: service.id,
            stackName: String(stack?.data.name ?? "Default"),
            serviceName,
            launchConfig: name,
            config,
            unit,
            deploymentUnitUuid: unitUuid,
            createIndex,
            at: service.created,
            healthyMs: 300,
            unhealthy: false,
          }),
        );
      }
    }
  }
  return containers;
}

export const isGlobal = (record: ResourceRecord): boolean => {
  const labels = (record.data.launchConfig as { labels?: Record<string, unknown> } | undefined)?.labels;
  return labels?.[GLOBAL_LABEL] === "true";
};
