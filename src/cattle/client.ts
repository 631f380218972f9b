import { systemClock } from "../domain/clock";
import { ConfigurationError, type Settings } from "../domain/settings";
import { logEvent } from "../util/log";
import { isTransient } from "./failures";
import type {
  CattleFailure,
  CattleResult,
  Collection,
  GenericObject,
  Host,
  HostTemplate,
  Instance,
  Project,
  Schema,
  Service,
} from "./types";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Delay before the second attempt; doubled for each further one, with jitter. */
  baseDelayMs: number;
  /** Time allowed for one HTTP exchange. */
  timeoutMs: number;
}

/** Management requests answer a person: fail fast. */
export const INTERACTIVE_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 100, timeoutMs: 5_000 };
/**
 * Triggers come from machines that retry on 5xx; a little patience here turns a Cattle hiccup
 * into an applied trigger instead of a retry. The target object retries whole cycles on top.
 */
export const TRIGGER_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 100, timeoutMs: 4_000 };

/** A Rancher API key (HTTP Basic), or a Rancher session's token (sent as a bearer token). */
export type CattleCredentials = { accessKey: string; secretKey: string } | { session: string };

export interface CattleClientOptions {
  baseUrl: string;
  credentials: CattleCredentials;
  retry?: RetryPolicy;
  fetch?: typeof fetch;
  /** Sent with every request besides the credentials (a Cloudflare Access service token, say). */
  headers?: Readonly<Record<string, string>>;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms after which no attempt starts and no exchange is waited for. */
  deadline?: number;
}

/** `https://rancher.example.com`, `…/v1` and `…/v2-beta` all name the same API root. */
export function apiRoot(cattleUrl: string): string {
  const trimmed = cattleUrl.trim().replace(/\/+$/, "");
  return `${trimmed.replace(/\/(v1|v2-beta)$/, "")}/v2-beta`;
}

/** The `Authorization` header that presents credentials to Cattle. */
export const authorizationOf = (credentials: CattleCredentials): string =>
  "session" in credentials
    ? `Bearer ${credentials.session}`
    : `Basic ${btoa(`${credentials.accessKey}:${credentials.secretKey}`)}`;

/** The calls of Cattle's API the service makes, as the cores see them (a fake in their tests). */
export interface CattleApi {
  getProject(projectId: string): Promise<CattleResult<Project>>;
  listProjects(): Promise<CattleResult<Collection<Project>>>;
  getSchema(projectId: string, schemaId: string): Promise<CattleResult<Schema>>;
  getService(projectId: string, serviceId: string): Promise<CattleResult<Service>>;
  listServices(
    projectId: string,
    filters?: Record<string, string>,
  ): Promise<CattleResult<Collection<Service>>>;
  listInstances(projectId: string, serviceId: string): Promise<CattleResult<Collection<Instance>>>;
  listHosts(projectId: string): Promise<CattleResult<Collection<Host>>>;
  getHostTemplate(projectId: string, templateId: string): Promise<CattleResult<HostTemplate>>;
  createHost(projectId: string, body: unknown): Promise<CattleResult<Host>>;
  evacuateHost(projectId: string, hostId: string): Promise<CattleResult<unknown>>;
  listGenericObjects(
    projectId: string,
    kind: string,
    marker?: string,
  ): Promise<CattleResult<Collection<GenericObject>>>;
  updateService(
    projectId: string,
    serviceId: string,
    changes: Partial<Service>,
  ): Promise<CattleResult<Service>>;
  serviceAction(
    projectId: string,
    serviceId: string,
    action: string,
    body?: unknown,
  ): Promise<CattleResult<Service>>;
}

/** Makes a client for work that must be done by `deadline` (epoch ms). */
export type CattleFactory = (deadline: number) => CattleApi;

/**
 * Clients that present the service's own key: Cattle refusing it (401, 403) stops every trigger,
 * so such a failure is logged as an error rather than a warning.
 */
const SERVICE_CLIENTS = new WeakSet<CattleClient>();

/** The settings that say how Cattle is reached. */
export type CattleSettings = Pick<
  Settings,
  "CATTLE_URL" | "CATTLE" | "CATTLE_ACCESS_CLIENT_ID" | "CATTLE_ACCESS_CLIENT_SECRET"
>;

/** How every request of the service reaches Cattle, whoever's credentials it carries. */
export interface CattleTransport {
  baseUrl: string;
  fetch: typeof fetch;
  headers: Readonly<Record<string, string>>;
}

const transports = new WeakMap<object, CattleTransport>();

/**
 * The one place that decides how Cattle is reached (docs/private-rancher.md): through the `CATTLE`
 * binding when there is one (a tunnel to a private Rancher), else the runtime's own `fetch`; with
 * the Access service token's headers when both of its settings are set. The URL is always built
 * from `CATTLE_URL`, since behind a tunnel it names the host the tunnel reaches. Remembered per
 * settings object: a runtime passes the same one to every request.
 */
export function cattleTransport(settings: CattleSettings): CattleTransport {
  const known = transports.get(settings);
  if (known) return known;
  const id = settings.CATTLE_ACCESS_CLIENT_ID?.trim() ?? "";
  const secret = settings.CATTLE_ACCESS_CLIENT_SECRET?.trim() ?? "";
  if ((id === "") !== (secret === "")) {
    // Sending half a service token would only earn Access's refusal on every request: say which
    // setting is missing (never the other's value) rather than let it look like Rancher is down.
    throw new ConfigurationError(
      id === ""
        ? "CATTLE_ACCESS_CLIENT_SECRET is set but CATTLE_ACCESS_CLIENT_ID is not: set both or neither"
        : "CATTLE_ACCESS_CLIENT_ID is set but CATTLE_ACCESS_CLIENT_SECRET is not: set both or neither",
    );
  }
  const binding = settings.CATTLE;
  if (binding !== undefined && typeof binding?.fetch !== "function") {
    throw new ConfigurationError("CATTLE must be a service binding (a Workers VPC Service) with fetch()");
  }
  const transport: CattleTransport = {
    baseUrl: settings.CATTLE_URL,
    // Called as a method: a binding's fetch must keep its `this`.
    fetch: binding ? (input, init) => binding.fetch(input, init) : (input, init) => fetch(input, init),
    headers: id === "" ? {} : { "cf-access-client-id": id, "cf-access-client-secret": secret },
  };
  transports.set(settings, transport);
  return transport;
}

/** A client of Cattle with these credentials, reaching it as the settings say (`cattleTransport`). */
export function cattleClient(
  settings: CattleSettings,
  credentials: CattleCredentials,
  options: Pick<CattleClientOptions, "retry" | "deadline"> = {},
): CattleClient {
  const transport = cattleTransport(settings);
  return new CattleClient({
    baseUrl: transport.baseUrl,
    fetch: transport.fetch,
    headers: transport.headers,
    credentials,
    ...options,
  });
}

/** The service's own credentials (CATTLE_ACCESS_KEY/CATTLE_SECRET_KEY). */
export const serviceCredentials = (
  settings: Pick<Settings, "CATTLE_ACCESS_KEY" | "CATTLE_SECRET_KEY">,
): CattleCredentials => ({ accessKey: settings.CATTLE_ACCESS_KEY, secretKey: settings.CATTLE_SECRET_KEY });

/** A client with the service's own credentials, whose refusals are logged as errors. */
export function serviceClient(
  settings: CattleSettings & Pick<Settings, "CATTLE_ACCESS_KEY" | "CATTLE_SECRET_KEY">,
  options: Pick<CattleClientOptions, "retry" | "deadline"> = {},
): CattleClient {
  const client = cattleClient(settings, serviceCredentials(settings), options);
  SERVICE_CLIENTS.add(client);
  return client;
}

/**
 * The service's own client for triggers, with the service credential. The transport
 * is settled now, so a configuration error shows when the factory is made, not mid-trigger.
 */
export const serviceCattle = (
  settings: CattleSettings & Pick<Settings, "CATTLE_ACCESS_KEY" | "CATTLE_SECRET_KEY">,
): CattleFactory => {
  cattleTransport(settings);
  return (deadline) => serviceClient(settings, { retry: TRIGGER_RETRY, deadline });
};

/**
 * The only code that talks to Cattle. Every call returns a tagged result; nothing here throws for
 * an HTTP or network failure, and cattle/failures.ts says what each failure means.
 */
export class CattleClient implements CattleApi {
  readonly #root: string;
  readonly #authorization: string;
  readonly #retry: RetryPolicy;
  readonly #fetch: typeof fetch;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #deadline: number;

  constructor(options: CattleClientOptions) {
    this.#root = apiRoot(options.baseUrl);
    this.#authorization = authorizationOf(options.credentials);
    this.#retry = options.retry ?? INTERACTIVE_RETRY;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#headers = options.headers ?? {};
    this.#sleep = options.sleep ?? systemClock.sleep;
    this.#deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  }

  getProject(projectId: string): Promise<CattleResult<Project>> {
    return this.#request("GET", `/projects/${enc(projectId)}`);
  }

  listProjects(): Promise<CattleResult<Collection<Project>>> {
    return this.#request("GET", "/projects?limit=1000");
  }

  /** The smallest request that proves Cattle is there and takes the credentials: one project, if any. */
  checkCredentials(): Promise<CattleResult<Collection<Project>>> {
    return this.#request("GET", "/projects?limit=1");
  }

  getSchema(projectId: string, schemaId: string): Promise<CattleResult<Schema>> {
    return this.#request("GET", `/projects/${enc(projectId)}/schemas/${enc(schemaId)}`);
  }

  getService(projectId: string, serviceId: string): Promise<CattleResult<Service>> {
    return this.#request("GET", `/projects/${enc(projectId)}/services/${enc(serviceId)}`);
  }

  listServices(
    projectId: string,
    filters: Record<string, string> = {},
  ): Promise<CattleResult<Collection<Service>>> {
    const query = new URLSearchParams({ limit: "1000", ...filters });
    return this.#request("GET", `/projects/${enc(projectId)}/services?${query}`);
  }

  /** The service's containers, as its `instances` link lists them. */
  listInstances(projectId: string, serviceId: string): Promise<CattleResult<Collection<Instance>>> {
    return this.#request(
      "GET",
      `/projects/${enc(projectId)}/services/${enc(serviceId)}/instances?limit=1000`,
    );
  }

  listHosts(projectId: string): Promise<CattleResult<Collection<Host>>> {
    return this.#request("GET", `/projects/${enc(projectId)}/hosts?limit=1000&removed_null=true`);
  }

  getHostTemplate(projectId: string, templateId: string): Promise<CattleResult<HostTemplate>> {
    return this.#request("GET", `/projects/${enc(projectId)}/hostTemplates/${enc(templateId)}`);
  }

  /** One attempt: a repeated create would add a second host. */
  createHost(projectId: string, body: unknown): Promise<CattleResult<Host>> {
    return this.#request("POST", `/projects/${enc(projectId)}/hosts`, body, 1);
  }

  /** Evacuates a host and deletes it (Cattle's `host.evacuate` external event). */
  evacuateHost(projectId: string, hostId: string): Promise<CattleResult<unknown>> {
    return this.#request(
      "POST",
      `/projects/${enc(projectId)}/externalhostevents`,
      { eventType: "host.evacuate", hostId, deleteHost: true },
      1,
    );
  }

  /** One page of the environment's generic objects of a kind; `marker` is the previous page's `next`. */
  listGenericObjects(
    projectId: string,
    kind: string,
    marker?: string,
  ): Promise<CattleResult<Collection<GenericObject>>> {
    const query = new URLSearchParams({ kind, limit: "1000", ...(marker ? { marker } : {}) });
    return this.#request("GET", `/projects/${enc(projectId)}/genericobjects?${query}`);
  }

  /** One attempt only: the caller owns the read-modify-write cycle and retries it as a whole. */
  updateService(
    projectId: string,
    serviceId: string,
    changes: Partial<Service>,
  ): Promise<CattleResult<Service>> {
    return this.#request("PUT", `/projects/${enc(projectId)}/services/${enc(serviceId)}`, changes, 1);
  }

  /** Runs a resource action (`upgrade`, `finishupgrade`, …). One attempt: the caller follows up. */
  serviceAction(
    projectId: string,
    serviceId: string,
    action: string,
    body: unknown = {},
  ): Promise<CattleResult<Service>> {
    return this.#request(
      "POST",
      `/projects/${enc(projectId)}/services/${enc(serviceId)}?action=${enc(action)}`,
      body,
      1,
    );
  }

  async #request<T>(method: string, path: string, body?: unknown, attempts = this.#retry.attempts) {
    let result: CattleResult<T> = { ok: false, failure: { kind: "unavailable", message: "not attempted" } };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        const pause = backoff(this.#retry.baseDelayMs, attempt);
        if (Date.now() + pause >= this.#deadline) break;
        await this.#sleep(pause);
      }
      const timeoutMs = Math.min(this.#retry.timeoutMs, this.#deadline - Date.now());
      if (timeoutMs <= 0) break;
      result = await this.#once<T>(method, path, body, timeoutMs);
      if (result.ok || !isTransient(result.failure)) return result;
    }
    return result;
  }

  async #once<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<CattleResult<T>> {
    // A timer of its own rather than AbortSignal.timeout(), which cannot be cancelled: most
    // requests are answered long before it, and a timer left behind wakes the runtime for nothing.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new DOMException("timed out", "TimeoutError")), timeoutMs);
    try {
      let response: Response;
      try {
        response = await this.#fetch(`${this.#root}${path}`, {
          method,
          headers: {
            ...this.#headers,
            authorization: this.#authorization,
            accept: "application/json",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: timeout.signal,
          // Never followed: a redirect would carry the credentials and the Access token to
          // whatever host it names. Cattle itself does not redirect its API.
          redirect: "manual",
        });
      } catch {
        return failed(this, method, path, {
          kind: "unavailable",
          message: timeout.signal.aborted ? "Cattle did not answer in time" : "Cattle unreachable",
        });
      }
      const text = await response.text().catch(() => "");
      if (response.status >= 300 && response.status < 400) {
        return failed(this, method, path, {
          kind: "unavailable",
          status: response.status,
          message: "Cattle answered with a redirect, which is not followed: check CATTLE_URL",
        });
      }
      if (response.ok) {
        try {
          return { ok: true, value: JSON.parse(text) as T };
        } catch {
          return failed(this, method, path, {
            kind: "unavailable",
            status: response.status,
            message: "Cattle answered with invalid JSON",
          });
        }
      }
      return failed(this, method, path, failureFrom(response.status, text));
    } finally {
      clearTimeout(timer);
    }
  }
}

const enc = encodeURIComponent;

const fail = (failure: CattleFailure): { ok: false; failure: CattleFailure } => ({ ok: false, failure });

/**
 * A failed exchange with Cattle, logged as one `cattle_failure` line (docs/monitoring.md): the path
 * without its query string, never a header, so no credential or token can be in it.
 */
function failed(
  client: CattleClient,
  method: string,
  path: string,
  failure: CattleFailure,
): { ok: false; failure: CattleFailure } {
  const refused =
    failure.kind === "unauthorized" || failure.kind === "forbidden" || failure.kind === "notFound";
  const service = SERVICE_CLIENTS.has(client);
  // Cattle refusing the service's own key stops every trigger: an error. Refusing a caller's key
  // (a wrong password, another environment) is the caller's business and happens at a stranger's
  // will: info, so that it cannot bury the lines that matter.
  const level = refused ? (service && failure.kind !== "notFound" ? "error" : "info") : "warn";
  logEvent(level, "cattle_failure", {
    method,
    path: path.split("?")[0],
    status: failure.status,
    kind: failure.kind,
    // Cattle's message can quote what it refused (a launch config): a line stays short.
    message:
      failure.message.length > MESSAGE_LOGGED
        ? `${failure.message.slice(0, MESSAGE_LOGGED)}…`
        : failure.message,
  });
  return fail(failure);
}

/** The most of Cattle's message a log line keeps. */
const MESSAGE_LOGGED = 200;

function backoff(baseDelayMs: number, attempt: number): number {
  const delay = baseDelayMs * 2 ** (attempt - 2);
  return delay / 2 + Math.random() * (delay / 2);
}

/** Maps Cattle's error envelope to a failure; Cattle's own message is kept for logs, never for clients. */
function failureFrom(status: number, text: string): CattleFailure {
  let code: string | undefined;
  let fieldName: string | undefined;
  let message = `Cattle answered ${status}`;
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; fieldName?: unknown };
    if (typeof body.code === "string") code = body.code;
    if (typeof body.fieldName === "string") fieldName = body.fieldName;
    if (typeof body.message === "string") message = `${message}: ${body.message}`;
  } catch {
    // Not Cattle's envelope (a proxy's HTML page, say): the status alone decides.
  }
  if (status === 401) return { kind: "unauthorized", status, message };
  if (status === 403) return { kind: "forbidden", status, message };
  if (status === 404) return { kind: "notFound", status, message };
  if (status === 409) return { kind: "conflict", status, message };
  if (status >= 500 || status === 429 || status === 408) {
    return { kind: "unavailable", status, ...(code ? { code } : {}), message };
  }
  return { kind: "rejected", status, code, fieldName, message };
}
