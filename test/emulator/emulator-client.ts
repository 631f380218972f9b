/** Talks to the Cattle emulator the way the service and the tests do: plain fetch to its port. */
export const EMULATOR = "http://127.0.0.1:8788";

export const KEYS = {
  owner: "dev-access:dev-secret",
  readonly: "readonly-access:readonly-secret",
  other: "other-access:other-secret",
} as const;

export interface CallOptions {
  method?: string;
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? KEYS.owner : options.key;
  if (key !== null) headers.authorization = `Basic ${btoa(key)}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] = "application/json";
  }
  return fetch(`${EMULATOR}${path}`, { method: options.method ?? "GET", headers, body });
}

export type Json = any;

export async function json(
  path: string,
  options: CallOptions = {},
): Promise<{ status: number; body: Json; response: Response }> {
  const response = await call(path, options);
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text), response };
}

export const reset = async (): Promise<void> => {
  const response = await fetch(`${EMULATOR}/_emulator/reset`, { method: "POST" });
  if (response.status !== 204) throw new Error(`reset answered ${response.status}`);
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const P = "/v2-beta/projects/1a5";
