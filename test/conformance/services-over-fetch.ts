import type { Service } from "../../src/cattle/types";
import type { CattleFetcher } from "../../src/domain/settings";

/**
 * Cattle's services over fetch, as the service's Cattle client calls them: each service of each
 * environment is `web` at scale 1 until a PUT changes it. Enough for scaleService triggers where no
 * emulator runs beside the runtime under test; anything else is answered 404 in Cattle's envelope.
 */
export class ServicesOverFetch implements CattleFetcher {
  readonly #services = new Map<string, Service>();

  /** Every service back at scale 1. */
  reset(): void {
    this.#services.clear();
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    const match = /^\/v2-beta\/projects\/([^/]+)\/services\/([^/]+)$/.exec(path);
    if (!match || !["GET", "PUT"].includes(request.method)) {
      return Response.json(
        { type: "error", status: 404, code: "NotFound", message: `${request.method} ${path}` },
        { status: 404 },
      );
    }
    const key = `${match[1]}/${match[2]}`;
    let service = this.#services.get(key);
    if (!service) {
      service = {
        id: match[2] ?? "",
        type: "service",
        name: "web",
        kind: "service",
        state: "active",
        transitioning: "no",
        scale: 1,
        launchConfig: { imageUuid: "docker:nginx:1.25", labels: { app: "web" } },
      };
      this.#services.set(key, service);
    }
    if (request.method === "PUT") Object.assign(service, await request.json());
    return Response.json(service);
  }
}
