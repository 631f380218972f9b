// A minimal Cattle v2-beta for the side-by-side benchmark, run as its own process so that its CPU
// is counted apart from the services it answers. It serves only what a scaleService trigger and
// its setup need, for this service and for the original webhook-service alike: a project, the
// schemas collection (with X-API-Schemas, as go-rancher's client requires), services read and
// scaled, generic objects (the original's receivers). Every request is answered after `delayMs`,
// the Cattle latency of the scenario; it never locks, fails or drops. The project's emulator
// (emulator/) is the faithful Cattle; this one is cheap, so that it does not compete for the CPU.
//
//   node bench/cattle-stub.mjs            prints {"port":N} once listening on 127.0.0.1
//   POST /_stub/config {"delayMs":20}     GET /_stub/stats     POST /_stub/reset
import { randomUUID } from "node:crypto";
import http from "node:http";

const PROJECT = "1a5";
let delayMs = 0;
let stats;
let services;
let objects;

function reset() {
  stats = { total: 0, byMethod: {} };
  services = new Map([["1s1", { id: "1s1", name: "web", scale: 1 }]]);
  objects = new Map();
}
reset();

const body = (request) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      try {
        resolve(text ? JSON.parse(text) : {});
      } catch (error) {
        reject(error);
      }
    });
    request.on("error", reject);
  });

function serve(origin, method, path, query, input) {
  const api = `${origin}/v2-beta/projects/${PROJECT}`;
  const schema = (id, plural) => ({
    id,
    type: "schema",
    links: { self: `${api}/schemas/${id.toLowerCase()}`, collection: `${api}/${plural}` },
    collectionMethods: ["GET", "POST"],
    resourceMethods: ["GET", "PUT", "DELETE"],
    collectionFilters: { name: {}, key: {}, kind: {} },
  });
  const service = (s) => ({
    ...s,
    type: "service",
    kind: "service",
    accountId: PROJECT,
    state: "active",
    transitioning: "no",
    launchConfig: { imageUuid: "docker:nginx:1.25" },
    links: { self: `${api}/services/${s.id}` },
    actions: {},
  });
  const object = (o) => ({ ...o, links: { self: `${api}/genericobjects/${o.id}` }, actions: {} });
  const collection = (resourceType, data) => ({ type: "collection", resourceType, data, pagination: {} });
  const parts = path.split("/").filter(Boolean);
  if (parts[0] !== "v2-beta" || parts[1] !== "projects") return [404, { type: "error", status: 404 }];
  if (parts.length === 2) return [200, collection("project", [{ id: PROJECT, type: "project" }])];
  if (parts[2] !== PROJECT) return [404, { type: "error", status: 404 }];
  const [kind, id] = parts.slice(3);
  if (!kind) return [200, { id: PROJECT, type: "project", name: "Default" }];
  if (kind === "schemas") {
    const all = [
      schema("service", "services"),
      schema("host", "hosts"),
      schema("externalHostEvent", "externalhostevents"),
      schema("genericObject", "genericobjects"),
    ];
    if (!id) return [200, collection("schema", all)];
    const found = all.find((s) => s.id.toLowerCase() === id.toLowerCase());
    return found ? [200, found] : [404, { type: "error", status: 404 }];
  }
  if (kind === "services") {
    const found = services.get(id);
    if (!found) return [404, { type: "error", status: 404, code: "NotFound" }];
    if (method === "PUT") {
      if (Number.isInteger(input.scale)) found.scale = input.scale;
      return [200, service(found)];
    }
    return [200, service(found)];
  }
  if (kind === "genericobjects") {
    if (method === "POST") {
      const created = {
        id: `1go${objects.size + 1}`,
        type: "genericObject",
        accountId: PROJECT,
        kind: input.kind ?? null,
        name: input.name ?? null,
        key: input.key ?? null,
        resourceData: input.resourceData ?? null,
        state: "active",
        uuid: randomUUID(),
      };
      objects.set(created.id, created);
      return [201, object(created)];
    }
    if (id) {
      const found = objects.get(id);
      if (!found) return [404, { type: "error", status: 404, code: "NotFound" }];
      if (method === "DELETE") objects.delete(id);
      return [200, object(found)];
    }
    const matches = [...objects.values()].filter((o) =>
      ["kind", "key", "name"].every((field) => !query.has(field) || query.get(field) === o[field]),
    );
    return [200, collection("genericObject", matches.map(object))];
  }
  return [404, { type: "error", status: 404 }];
}

const server = http.createServer(async (request, response) => {
  const url = new URL(request.url, `http://${request.headers.host}`);
  const send = (status, payload) => {
    const text = JSON.stringify(payload);
    response.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      "x-api-schemas": `${url.origin}/v2-beta/projects/${PROJECT}/schemas`,
    });
    response.end(text);
  };
  let input;
  try {
    input = await body(request);
  } catch {
    return send(400, { type: "error", status: 400, code: "InvalidBodyContent" });
  }
  if (url.pathname.startsWith("/_stub/")) {
    if (url.pathname === "/_stub/config") delayMs = Number(input.delayMs ?? delayMs);
    if (url.pathname === "/_stub/reset") reset();
    return send(200, { delayMs, services: Object.fromEntries(services), ...stats });
  }
  stats.total++;
  stats.byMethod[request.method] = (stats.byMethod[request.method] ?? 0) + 1;
  const [status, payload] = serve(url.origin, request.method, url.pathname, url.searchParams, input);
  if (delayMs > 0) setTimeout(() => send(status, payload), delayMs);
  else send(status, payload);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
