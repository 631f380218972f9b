import type { Role } from "./auth";
import type { ResourceType } from "./model";

/**
 * Field definitions in Cattle's schema vocabulary. They drive three things at once so these cannot
 * drift apart: the `/schemas` documents, input validation (as gdapi's ValidationHandler does it:
 * fields a caller may not set are dropped silently, the rest are type-checked) and output rendering.
 */
export interface FieldDef {
  type: string;
  create?: boolean;
  update?: boolean;
  required?: boolean;
  nullable?: boolean;
  default?: unknown;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  validChars?: string;
  options?: readonly string[];
  /** A change to this field runs the `update` process (Cattle's `scheduleUpdate` attribute). */
  scheduleUpdate?: boolean;
  /** Usable as a collection filter and sort key. */
  filter?: boolean;
  /** Accepted on input, never shown (a host template's `secretValues`). */
  writeOnly?: boolean;
}

export interface ActionDef {
  input?: string;
  output?: string;
}

export interface TypeDef {
  id: string;
  pluralName: string;
  /** Top-level types have collections; embedded ones (launchConfig…) only describe fields. */
  embedded?: boolean;
  /**
   * Fields the type does not list are kept as sent instead of dropped: Cattle stores a launch config
   * whole (`environment`, `ports`, `volumeDriver`, … and anything newer than this emulator).
   */
  open?: boolean;
  fields: Record<string, FieldDef>;
  resourceActions?: Record<string, ActionDef>;
  /** Methods this emulator serves for the type, for a key that may write. */
  resourceMethods?: readonly string[];
  collectionMethods?: readonly string[];
}

const STATES = [
  "requested",
  "registering",
  "inactive",
  "activating",
  "active",
  "updating-active",
  "updating-inactive",
  "deactivating",
  "upgrading",
  "upgraded",
  "finishing-upgrade",
  "canceling-upgrade",
  "canceled-upgrade",
  "rolling-back",
  "restarting",
  "removing",
  "removed",
] as const;

/** Host states: Cattle's host processes plus the agent states the API shows for a host. */
export const HOST_STATES = [
  "requested",
  "registering",
  "provisioning",
  "activating",
  "active",
  "reconnecting",
  "disconnected",
  "updating-active",
  "updating-inactive",
  "deactivating",
  "inactive",
  "erroring",
  "error",
  "removing",
  "removed",
  "purging",
  "purged",
] as const;

/** Machine-driver config fields a host (or a template's values) may carry; Cattle matches `*Config`. */
export const DRIVER_CONFIGS = [
  "amazonec2Config",
  "azureConfig",
  "digitaloceanConfig",
  "packetConfig",
] as const;
export const CONFIG_SUFFIX = "Config";

const common: Record<string, FieldDef> = {
  id: { type: "string", filter: true },
  name: { type: "string", create: true, update: true, nullable: true, maxLength: 1024, filter: true },
  description: { type: "string", create: true, update: true, nullable: true, maxLength: 1024, filter: true },
  kind: { type: "string", filter: true },
  state: { type: "enum", options: STATES, filter: true },
  created: { type: "date", filter: true },
  removed: { type: "date", nullable: true, filter: true },
  removeTime: { type: "date", nullable: true, filter: true },
  transitioning: { type: "enum", options: ["yes", "no", "error"] },
  transitioningMessage: { type: "string", nullable: true },
  transitioningProgress: { type: "int", nullable: true },
  uuid: { type: "string", filter: true },
};

const owned: Record<string, FieldDef> = {
  ...common,
  accountId: { type: "reference[account]", filter: true },
};

/** Instance states (Cattle's instance processes); the emulator's containers show the ones it models. */
const INSTANCE_STATES = [
  "requested",
  "creating",
  "starting",
  "running",
  "restarting",
  "stopping",
  "stopped",
  "updating-running",
  "updating-stopped",
  "error",
  "erroring",
  "removing",
  "removed",
  "purging",
  "purged",
] as const;

/**
 * A container as v2-beta shows it (go-rancher `Container`), limited to what the emulator keeps. Every
 * field is read-only here: containers come and go with their services, never by a client's write.
 */
const instanceFields: Record<string, FieldDef> = {
  ...common,
  name: { type: "string", nullable: true, filter: true },
  description: { type: "string", nullable: true, filter: true },
  accountId: { type: "reference[account]", filter: true },
  state: { type: "enum", options: INSTANCE_STATES, filter: true },
  healthState: { type: "string", nullable: true, filter: true },
  startCount: { type: "int", filter: true },
  imageUuid: { type: "string", filter: true },
  version: { type: "string", nullable: true, filter: true },
  serviceId: { type: "reference[service]", nullable: true, filter: true },
  serviceIds: { type: "array[reference[service]]", nullable: true },
  createIndex: { type: "int", nullable: true, filter: true },
  deploymentUnitUuid: { type: "string", nullable: true, filter: true },
  firstRunning: { type: "date", nullable: true, filter: true },
  labels: { type: "map[string]", nullable: true },
};

const serviceBase: Record<string, FieldDef> = {
  ...owned,
  name: {
    type: "string",
    create: true,
    update: true,
    required: true,
    minLength: 1,
    maxLength: 63,
    validChars: "a-zA-Z0-9-",
    scheduleUpdate: true,
    filter: true,
  },
  stackId: { type: "reference[stack]", create: true, filter: true },
  startOnCreate: { type: "boolean", create: true, nullable: true, default: true },
  metadata: { type: "map[json]", create: true, update: true, nullable: true, scheduleUpdate: true },
  externalId: { type: "string", create: true, nullable: true, filter: true },
  healthState: { type: "string", filter: true },
  fqdn: { type: "string", nullable: true },
  system: { type: "boolean", filter: true },
  upgrade: { type: "serviceUpgrade", nullable: true },
  linkedServices: { type: "map[reference[service]]", nullable: true },
  instanceIds: { type: "array[reference[instance]]", nullable: true },
};

const scalable: Record<string, FieldDef> = {
  scale: {
    type: "int",
    create: true,
    update: true,
    nullable: false,
    default: 1,
    min: 0,
    scheduleUpdate: true,
    filter: true,
  },
  currentScale: { type: "int", filter: true },
  scalePolicy: { type: "scalePolicy", create: true, update: true, nullable: true, scheduleUpdate: true },
  assignServiceIpAddress: { type: "boolean", create: true, default: false },
  retainIp: { type: "boolean", create: true, update: true, nullable: true, scheduleUpdate: true },
  vip: { type: "string", create: true, nullable: true },
  publicEndpoints: { type: "array[publicEndpoint]", nullable: true },
  selectorLink: { type: "string", create: true, update: true, nullable: true, scheduleUpdate: true },
  secondaryLaunchConfigs: { type: "array[secondaryLaunchConfig]", nullable: true },
};

const serviceActions: Record<string, ActionDef> = {
  activate: { output: "service" },
  deactivate: { output: "service" },
  update: { output: "service" },
  remove: { output: "service" },
  restart: { input: "serviceRestart", output: "service" },
  upgrade: { input: "serviceUpgrade", output: "service" },
  finishupgrade: { output: "service" },
  cancelupgrade: { output: "service" },
  continueupgrade: { output: "service" },
  rollback: { output: "service" },
};

const WRITABLE_RESOURCE = ["GET", "PUT", "DELETE"] as const;
const WRITABLE_COLLECTION = ["GET", "POST"] as const;
const READ = ["GET"] as const;

export const TYPES: Record<string, TypeDef> = {
  project: {
    id: "project",
    pluralName: "projects",
    resourceMethods: READ,
    collectionMethods: READ,
    fields: {
      ...common,
      orchestration: { type: "string" },
      healthState: { type: "string", filter: true },
      allowSystemRole: { type: "boolean" },
      virtualMachine: { type: "boolean" },
      defaultNetworkId: { type: "reference[network]", nullable: true },
      hostRemoveDelaySeconds: { type: "int", nullable: true },
      servicesPortRange: { type: "servicesPortRange", nullable: true },
      projectTemplateId: { type: "reference[projectTemplate]", nullable: true },
      version: { type: "string" },
    },
  },
  stack: {
    id: "stack",
    pluralName: "stacks",
    resourceMethods: READ,
    collectionMethods: READ,
    fields: {
      ...owned,
      healthState: { type: "string", filter: true },
      system: { type: "boolean", filter: true },
      startOnCreate: { type: "boolean", nullable: true },
      externalId: { type: "string", nullable: true, filter: true },
      group: { type: "string", nullable: true },
      serviceIds: { type: "array[reference[service]]", nullable: true },
    },
  },
  service: {
    id: "service",
    pluralName: "services",
    resourceMethods: WRITABLE_RESOURCE,
    collectionMethods: WRITABLE_COLLECTION,
    resourceActions: serviceActions,
    fields: {
      ...serviceBase,
      ...scalable,
      launchConfig: { type: "launchConfig", create: true, nullable: true },
      selectorContainer: { type: "string", create: true, update: true, nullable: true, scheduleUpdate: true },
      lbConfig: { type: "lbTargetConfig", create: true, update: true, nullable: true, scheduleUpdate: true },
    },
  },
  loadBalancerService: {
    id: "loadBalancerService",
    pluralName: "loadBalancerServices",
    resourceMethods: WRITABLE_RESOURCE,
    collectionMethods: WRITABLE_COLLECTION,
    resourceActions: serviceActions,
    fields: {
      ...serviceBase,
      ...scalable,
      launchConfig: {
        type: "launchConfig",
        create: true,
        update: true,
        required: true,
        scheduleUpdate: true,
      },
      lbConfig: { type: "lbConfig", create: true, update: true, required: true, scheduleUpdate: true },
    },
  },
  externalService: {
    id: "externalService",
    pluralName: "externalServices",
    resourceMethods: WRITABLE_RESOURCE,
    collectionMethods: WRITABLE_COLLECTION,
    resourceActions: serviceActions,
    fields: {
      ...serviceBase,
      externalIpAddresses: {
        type: "array[string]",
        create: true,
        update: true,
        nullable: true,
        scheduleUpdate: true,
      },
      hostname: { type: "string", create: true, update: true, nullable: true, scheduleUpdate: true },
      healthCheck: { type: "json", create: true, nullable: true },
    },
  },
  host: {
    id: "host",
    pluralName: "hosts",
    resourceMethods: ["GET", "PUT"],
    collectionMethods: WRITABLE_COLLECTION,
    fields: {
      ...owned,
      state: { type: "enum", options: HOST_STATES, filter: true },
      hostname: { type: "string", create: true, required: true, filter: true },
      driver: { type: "string", nullable: true, filter: true },
      agentState: { type: "string", nullable: true, filter: true },
      agentIpAddress: { type: "string", nullable: true },
      labels: { type: "map[string]", create: true, update: true, nullable: true },
      ...Object.fromEntries(
        DRIVER_CONFIGS.map((name): [string, FieldDef] => [
          name,
          { type: name, create: true, nullable: true },
        ]),
      ),
      hostTemplateId: { type: "reference[hostTemplate]", create: true, nullable: true, filter: true },
      engineInstallUrl: { type: "string", create: true, nullable: true },
      engineEnv: { type: "map[string]", create: true, nullable: true },
      engineOpt: { type: "map[string]", create: true, nullable: true },
      engineLabel: { type: "map[string]", create: true, nullable: true },
      engineInsecureRegistry: { type: "array[string]", create: true, nullable: true },
      engineRegistryMirror: { type: "array[string]", create: true, nullable: true },
      engineStorageDriver: { type: "string", create: true, nullable: true },
      info: { type: "json", nullable: true },
      memory: { type: "int", create: true, update: true, nullable: true },
      milliCpu: { type: "int", create: true, update: true, nullable: true },
      localStorageMb: { type: "int", create: true, update: true, nullable: true },
      publicEndpoints: { type: "array[publicEndpoint]", nullable: true },
      instanceIds: { type: "array[reference[instance]]", nullable: true },
    },
  },
  hostTemplate: {
    id: "hostTemplate",
    pluralName: "hostTemplates",
    resourceMethods: ["GET"],
    collectionMethods: WRITABLE_COLLECTION,
    fields: {
      ...owned,
      driver: { type: "string", create: true, required: true, filter: true },
      flavorPrefix: { type: "string", create: true, nullable: true, filter: true },
      publicValues: { type: "json", create: true, update: true, nullable: true },
      secretValues: { type: "json", create: true, update: true, nullable: true, writeOnly: true },
    },
  },
  externalHostEvent: {
    id: "externalHostEvent",
    pluralName: "externalHostEvents",
    resourceMethods: ["GET"],
    collectionMethods: WRITABLE_COLLECTION,
    fields: {
      ...owned,
      eventType: { type: "string", create: true, required: true, filter: true },
      hostId: { type: "reference[host]", create: true, nullable: true, filter: true },
      hostLabel: { type: "string", create: true, nullable: true, filter: true },
      deleteHost: { type: "boolean", create: true, default: false },
      externalId: { type: "string", create: true, nullable: true, filter: true },
      reportedAccountId: { type: "reference[account]", nullable: true },
      data: { type: "json", nullable: true },
    },
  },
  genericObject: {
    id: "genericObject",
    pluralName: "genericObjects",
    resourceMethods: WRITABLE_RESOURCE,
    collectionMethods: WRITABLE_COLLECTION,
    // Cattle's schema/base/genericObject.json adds resourceData to the table's columns; what a user may
    // set follows schema/user/user-auth.json (name, key, kind "cr"; resourceData, description "cru").
    fields: {
      ...owned,
      name: { type: "string", create: true, nullable: true, maxLength: 1024, filter: true },
      kind: { type: "string", create: true, nullable: true, filter: true },
      key: { type: "string", create: true, nullable: true, maxLength: 1024, filter: true },
      resourceData: { type: "map[json]", create: true, update: true, nullable: true },
    },
  },
  container: {
    id: "container",
    pluralName: "containers",
    resourceMethods: READ,
    collectionMethods: READ,
    fields: instanceFields,
  },
  instance: {
    id: "instance",
    pluralName: "instances",
    resourceMethods: READ,
    collectionMethods: READ,
    fields: instanceFields,
  },
  launchConfig: {
    id: "launchConfig",
    pluralName: "launchConfigs",
    embedded: true,
    open: true,
    fields: {
      imageUuid: { type: "string", create: true, nullable: true },
      kind: { type: "string", create: true, nullable: true, default: "container" },
      labels: { type: "map[string]", create: true, nullable: true },
      environment: { type: "map[string]", create: true, nullable: true },
      ports: { type: "array[string]", create: true, nullable: true },
      expose: { type: "array[string]", create: true, nullable: true },
      command: { type: "array[string]", create: true, nullable: true },
      entryPoint: { type: "array[string]", create: true, nullable: true },
      dataVolumes: { type: "array[string]", create: true, nullable: true },
      dns: { type: "array[string]", create: true, nullable: true },
      capAdd: { type: "array[string]", create: true, nullable: true },
      capDrop: { type: "array[string]", create: true, nullable: true },
      networkMode: { type: "string", create: true, nullable: true, default: "managed" },
      hostname: { type: "string", create: true, nullable: true },
      user: { type: "string", create: true, nullable: true },
      workingDir: { type: "string", create: true, nullable: true },
      privileged: { type: "boolean", create: true, nullable: true },
      stdinOpen: { type: "boolean", create: true, nullable: true },
      tty: { type: "boolean", create: true, nullable: true },
      memory: { type: "int", create: true, nullable: true, min: 0 },
      cpuShares: { type: "int", create: true, nullable: true, min: 0 },
      healthCheck: { type: "json", create: true, nullable: true },
      restartPolicy: { type: "json", create: true, nullable: true },
      logConfig: { type: "json", create: true, nullable: true },
      requestedHostId: { type: "reference[host]", create: true, nullable: true },
      startOnCreate: { type: "boolean", create: true, nullable: true },
      version: { type: "string", nullable: true },
    },
  },
  scalePolicy: {
    id: "scalePolicy",
    pluralName: "scalePolicys",
    embedded: true,
    fields: {
      min: { type: "int", create: true, required: true, min: 0 },
      max: { type: "int", create: true, required: true, min: 0 },
      increment: { type: "int", create: true, nullable: true, min: 1 },
    },
  },
  lbConfig: {
    id: "lbConfig",
    pluralName: "lbConfigs",
    embedded: true,
    fields: {
      portRules: { type: "array[json]", create: true, nullable: true },
      certificateIds: { type: "array[string]", create: true, nullable: true },
      defaultCertificateId: { type: "string", create: true, nullable: true },
      config: { type: "string", create: true, nullable: true },
      stickinessPolicy: { type: "json", create: true, nullable: true },
    },
  },
  lbTargetConfig: {
    id: "lbTargetConfig",
    pluralName: "lbTargetConfigs",
    embedded: true,
    fields: { portRules: { type: "array[json]", create: true, nullable: true } },
  },
  serviceUpgrade: {
    id: "serviceUpgrade",
    pluralName: "serviceUpgrades",
    embedded: true,
    fields: {
      inServiceStrategy: { type: "inServiceUpgradeStrategy", create: true, nullable: true },
      toServiceStrategy: { type: "json", create: true, nullable: true },
    },
  },
  inServiceUpgradeStrategy: {
    id: "inServiceUpgradeStrategy",
    pluralName: "inServiceUpgradeStrategies",
    embedded: true,
    fields: {
      launchConfig: { type: "launchConfig", create: true, nullable: true },
      secondaryLaunchConfigs: { type: "array[json]", create: true, nullable: true },
      previousLaunchConfig: { type: "launchConfig", nullable: true },
      previousSecondaryLaunchConfigs: { type: "array[json]", nullable: true },
      batchSize: { type: "int", create: true, default: 1, min: 1 },
      intervalMillis: { type: "int", create: true, default: 2000, min: 100 },
      startFirst: { type: "boolean", create: true, default: false },
    },
  },
  serviceRestart: {
    id: "serviceRestart",
    pluralName: "serviceRestarts",
    embedded: true,
    fields: { rollingRestartStrategy: { type: "json", create: true, nullable: true } },
  },
  amazonec2Config: {
    id: "amazonec2Config",
    pluralName: "amazonec2Configs",
    embedded: true,
    fields: {
      accessKey: { type: "string", create: true, nullable: true },
      secretKey: { type: "password", create: true, nullable: true },
      region: { type: "string", create: true, nullable: true },
      zone: { type: "string", create: true, nullable: true },
      ami: { type: "string", create: true, nullable: true },
      instanceType: { type: "string", create: true, nullable: true },
      vpcId: { type: "string", create: true, nullable: true },
      subnetId: { type: "string", create: true, nullable: true },
      securityGroup: { type: "array[string]", create: true, nullable: true },
      rootSize: { type: "string", create: true, nullable: true },
      sshUser: { type: "string", create: true, nullable: true },
      tags: { type: "string", create: true, nullable: true },
      iamInstanceProfile: { type: "string", create: true, nullable: true },
      keypairName: { type: "string", create: true, nullable: true },
      privateAddressOnly: { type: "boolean", create: true, nullable: true },
      requestSpotInstance: { type: "boolean", create: true, nullable: true },
      spotPrice: { type: "string", create: true, nullable: true },
      volumeType: { type: "string", create: true, nullable: true },
    },
  },
  digitaloceanConfig: {
    id: "digitaloceanConfig",
    pluralName: "digitaloceanConfigs",
    embedded: true,
    fields: {
      accessToken: { type: "password", create: true, nullable: true },
      image: { type: "string", create: true, nullable: true },
      region: { type: "string", create: true, nullable: true },
      size: { type: "string", create: true, nullable: true },
      ipv6: { type: "boolean", create: true, nullable: true },
      privateNetworking: { type: "boolean", create: true, nullable: true },
      backups: { type: "boolean", create: true, nullable: true },
      userdata: { type: "string", create: true, nullable: true },
      sshUser: { type: "string", create: true, nullable: true },
      sshPort: { type: "string", create: true, nullable: true },
      sshKeyFingerprint: { type: "string", create: true, nullable: true },
    },
  },
  azureConfig: {
    id: "azureConfig",
    pluralName: "azureConfigs",
    embedded: true,
    fields: {
      subscriptionId: { type: "string", create: true, nullable: true },
      clientId: { type: "string", create: true, nullable: true },
      clientSecret: { type: "password", create: true, nullable: true },
      environment: { type: "string", create: true, nullable: true },
      location: { type: "string", create: true, nullable: true },
      size: { type: "string", create: true, nullable: true },
      image: { type: "string", create: true, nullable: true },
      resourceGroup: { type: "string", create: true, nullable: true },
      vnet: { type: "string", create: true, nullable: true },
      subnet: { type: "string", create: true, nullable: true },
      sshUser: { type: "string", create: true, nullable: true },
      openPort: { type: "array[string]", create: true, nullable: true },
    },
  },
  packetConfig: {
    id: "packetConfig",
    pluralName: "packetConfigs",
    embedded: true,
    fields: {
      apiKey: { type: "password", create: true, nullable: true },
      projectId: { type: "string", create: true, nullable: true },
      os: { type: "string", create: true, nullable: true },
      plan: { type: "string", create: true, nullable: true },
      facilityCode: { type: "string", create: true, nullable: true },
      billingCycle: { type: "string", create: true, nullable: true },
      userdata: { type: "string", create: true, nullable: true },
    },
  },
};

const NUMBER_MODIFIERS = ["eq", "ne", "lt", "lte", "gt", "gte", "null", "notnull"] as const;
const STRING_MODIFIERS = ["eq", "ne", "prefix", "like", "notlike", "null", "notnull"] as const;
const VALUE_MODIFIERS = ["eq", "ne", "null", "notnull"] as const;

/** Modifiers per field type, as gdapi's ConditionType groups them. */
export function modifiersFor(field: FieldDef): readonly string[] {
  if (field.type === "int" || field.type === "date") return NUMBER_MODIFIERS;
  if (field.type === "string") return STRING_MODIFIERS;
  return VALUE_MODIFIERS;
}

export function filterFields(type: TypeDef): string[] {
  return Object.entries(type.fields)
    .filter(([, field]) => field.filter)
    .map(([name]) => name);
}

/** The URL segment of a collection; Cattle's URLs use the lower-cased plural. */
export const collectionSegment = (type: TypeDef): string => type.pluralName.toLowerCase();

const SCHEMA_LIST = [
  "apiVersion",
  "schema",
  "error",
  "collection",
  "project",
  "stack",
  "service",
  "loadBalancerService",
  "externalService",
  "host",
  "hostTemplate",
  "externalHostEvent",
  "genericObject",
  "container",
  "instance",
  "launchConfig",
  "scalePolicy",
  "lbConfig",
  "lbTargetConfig",
  "serviceUpgrade",
  "inServiceUpgradeStrategy",
  "serviceRestart",
  "amazonec2Config",
  "azureConfig",
  "digitaloceanConfig",
  "packetConfig",
] as const;

const META_TYPES: Record<string, Record<string, FieldDef>> = {
  apiVersion: { id: { type: "string" } },
  schema: {
    id: { type: "string" },
    pluralName: { type: "string" },
    resourceMethods: { type: "array[enum]" },
    resourceFields: { type: "map[field]" },
    resourceActions: { type: "map[action]" },
    collectionMethods: { type: "array[enum]" },
    collectionFields: { type: "map[field]" },
    collectionActions: { type: "map[action]" },
    collectionFilters: { type: "map[filter]" },
    includeableLinks: { type: "array[string]" },
  },
  error: {
    id: { type: "string" },
    status: { type: "int" },
    code: { type: "string" },
    message: { type: "string", nullable: true },
    detail: { type: "string", nullable: true },
    fieldName: { type: "string", nullable: true },
  },
  collection: { id: { type: "string" } },
};

export const schemaNames = (): readonly string[] => SCHEMA_LIST;

/** Looks a schema up the way Cattle's URLs do: by id, case-insensitively. */
export function findSchemaName(name: string): string | undefined {
  const lower = name.toLowerCase();
  return SCHEMA_LIST.find((candidate) => candidate.toLowerCase() === lower);
}

export const typeDef = (type: ResourceType): TypeDef => TYPES[type] as TypeDef;

function renderField(field: FieldDef, canWrite: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: field.type,
    create: canWrite && field.create === true,
    update: canWrite && field.update === true,
    required: field.required === true,
    nullable: field.nullable === true,
    unique: false,
  };
  if (field.default !== undefined) out.default = field.default;
  if (field.min !== undefined) out.min = field.min;
  if (field.max !== undefined) out.max = field.max;
  if (field.minLength !== undefined) out.minLength = field.minLength;
  if (field.maxLength !== undefined) out.maxLength = field.maxLength;
  if (field.validChars !== undefined) out.validChars = field.validChars;
  if (field.options !== undefined) out.options = field.options;
  if (field.scheduleUpdate) out.attributes = { scheduleUpdate: true };
  return out;
}

/**
 * One schema document as `role` sees it. A read-only member gets the same fields with nothing
 * creatable or updatable, only GET, and no actions — which is how clients (and the management API)
 * tell a read-only key from one that may write.
 */
export function renderSchema(name: string, role: Role, schemasUrl: string, scopeUrl: string) {
  const canWrite = role === "owner";
  const type = TYPES[name];
  const fields = type?.fields ?? META_TYPES[name] ?? {};
  const topLevel = type !== undefined && type.embedded !== true;
  const resourceMethods = topLevel ? (canWrite ? (type.resourceMethods ?? READ) : READ) : [];
  const collectionMethods = topLevel ? (canWrite ? (type.collectionMethods ?? READ) : READ) : [];
  const links: Record<string, string> = { self: `${schemasUrl}/${name.toLowerCase()}` };
  if (topLevel) links.collection = `${scopeUrl}/${collectionSegment(type)}`;
  const collectionFilters: Record<string, { modifiers: readonly string[] }> = {};
  if (topLevel) {
    for (const fieldName of filterFields(type)) {
      collectionFilters[fieldName] = { modifiers: modifiersFor(type.fields[fieldName] as FieldDef) };
    }
  }
  return {
    id: name,
    type: "schema",
    links,
    actions: {},
    pluralName: type?.pluralName ?? `${name}s`,
    resourceMethods,
    resourceFields: Object.fromEntries(
      Object.entries(fields).map(([fieldName, field]) => [fieldName, renderField(field, canWrite)]),
    ),
    resourceActions: canWrite && topLevel ? (type.resourceActions ?? {}) : {},
    collectionMethods,
    collectionFields: {},
    collectionActions: {},
    collectionFilters,
    includeableLinks: [],
  };
}
