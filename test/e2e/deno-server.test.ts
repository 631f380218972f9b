import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM script shared with `npm run dev:deno`
import { denoServeArgs } from "../../scripts/deno-serve.mjs";
import { DENO, type DenoStack, eventually, startDenoStack } from "./local-stack";

/**
 * The Deno server as one runs it oneself (docs/deno-server.md): where it listens, and that nothing it
 * keeps under DATA_DIR can be read by another user of the machine.
 */
if (!existsSync(DENO)) throw new Error(`${DENO} is missing: npm ci installs the deno package`);

const KEY = `Basic ${btoa("dev-access:dev-secret")}`;

let stack: DenoStack | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await stack?.dispose();
  stack = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

/** The IPv4 and IPv6 addresses something listens on at `port`, from the kernel's socket tables. */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== "0A" || !local) continue; // 0A: LISTEN
      const [address, hexPort] = local.split(":");
      if (Number.parseInt(hexPort ?? "", 16) !== port || !address) continue;
      found.push(
        address.length === 8
          ? (address.match(/../g) ?? [])
              .map((byte) => Number.parseInt(byte, 16))
              .reverse()
              .join(".")
          : `ipv6:${address}`,
      );
    }
  }
  return found.sort();
}

/** Every entry under `dir` with its permission bits, e.g. `targets/…sqlite-wal 600`. */
function modes(dir: string, prefix = ""): Record<string, string> {
  const found: Record<string, string> = {};
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = join(prefix, entry.name);
    found[`${path}${entry.isDirectory() ? "/" : ""}`] = (statSync(join(dir, path)).mode & 0o777).toString(8);
    if (entry.isDirectory()) Object.assign(found, modes(dir, path));
  }
  return found;
}

describe("the Deno server", () => {
  it("carries an Access service token from its environment on every Cattle request", async () => {
    const token = {
      CATTLE_ACCESS_CLIENT_ID: "deno.access",
      CATTLE_ACCESS_CLIENT_SECRET: "deno-access-secret-42",
    };
    stack = await startDenoStack({ env: token });
    const requireHeaders = {
      "CF-Access-Client-Id": token.CATTLE_ACCESS_CLIENT_ID,
      "CF-Access-Client-Secret": token.CATTLE_ACCESS_CLIENT_SECRET,
    };
    const config = await stack.emulator("/_emulator/config", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ requireHeaders }),
    });
    expect(config.status).toBe(200);
    const health = await fetch(new URL("/v1-webhooks/health", stack.url));
    expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
    const listed = await fetch(new URL("/v1-webhooks/receivers?projectId=1a5", stack.url), {
      headers: { authorization: KEY },
    });
    expect(listed.status).toBe(200);
    // Without the token the emulator refuses: it was the token that let these through.
    const direct = await stack.emulator("/v2-beta/projects/1a5", { headers: { authorization: KEY } });
    expect(direct.status).toBe(403);
  });

  it("does not start with half an Access service token, and says which setting, not its value", async () => {
    const error = await startDenoStack({
      env: { CATTLE_ACCESS_CLIENT_SECRET: "half-a-token-secret-7" },
    }).then(
      () => new Error("it started"),
      (reason: Error) => reason,
    );
    expect(error.message).toContain("the Deno server did not start");
    expect(error.message).toContain("CATTLE_ACCESS_CLIENT_SECRET is set but CATTLE_ACCESS_CLIENT_ID is not");
    expect(error.message).not.toContain("half-a-token-secret-7");
  });

  it("listens on 127.0.0.1 only, unless --host says otherwise", async () => {
    stack = await startDenoStack();
    expect(listeningAddresses(Number(stack.url.port))).toEqual(["127.0.0.1"]);
    await stack.dispose();
    stack = await startDenoStack({ host: "0.0.0.0" });
    expect(listeningAddresses(Number(stack.url.port))).toEqual(["0.0.0.0"]);
  });

  it("refuses a --port or --host it cannot listen on, before it opens anything", async () => {
    for (const [port, host, message] of [
      ["99999", undefined, "--port must be a TCP port (1-65535)"],
      ["http", undefined, "--port must be a TCP port (1-65535)"],
      ["8787", " ", "--host must name an address"],
    ] as const) {
      const result = spawnSync(process.execPath, denoServeArgs(port, host), {
        env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect([port, host, result.status]).toEqual([port, host, 1]);
      expect(result.stderr).toContain(message);
    }
  });

  it("keeps every file it writes under DATA_DIR mode 0600 and its directories 0700, older ones too", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "deno-modes-"));
    chmodSync(dataDir, 0o755);
    // What an earlier version left: readable by everyone.
    mkdirSync(join(dataDir, "targets"), { mode: 0o755 });
    chmodSync(join(dataDir, "targets"), 0o755);
    // Someone else's files beside them, which the server has no business changing.
    mkdirSync(join(dataDir, "backups"), { mode: 0o755 });
    chmodSync(join(dataDir, "backups"), 0o755);
    writeFileSync(join(dataDir, "backups", "receivers.json"), "{}", { mode: 0o644 });
    writeFileSync(join(dataDir, "notes.txt"), "kept", { mode: 0o666 });
    chmodSync(join(dataDir, "notes.txt"), 0o666);

    stack = await startDenoStack({ dataDir });
    const created = await fetch(new URL("/v1-webhooks/receivers?projectId=1a5", stack.url), {
      method: "POST",
      headers: { authorization: KEY, "content-type": "application/json" },
      body: JSON.stringify({
        name: "modes",
        driver: "scaleService",
        scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 10 },
        senderVerification: { scheme: "bearer", token: "a-sender-secret-0123456789" },
      }),
    });
    expect(created.status).toBe(201);
    const { url } = (await created.json()) as { url: string };
    const answer = await fetch(new URL(new URL(url).pathname + new URL(url).search, stack.url), {
      method: "POST",
      headers: { authorization: "Bearer a-sender-secret-0123456789" },
    });
    expect(await answer.json()).toMatchObject({ outcome: "applied" });

    const found = await eventually("the target's journal to be written", async () => {
      const now = modes(dataDir as string);
      return Object.keys(now).some((path) => path.endsWith(".sqlite-wal")) ? now : undefined;
    });
    const paths = Object.keys(found);
    // The receiver records, the objects' databases and their journals are all there…
    expect(paths).toContain("receivers.kv");
    expect(paths.filter((path) => /^targets\/[0-9a-f]{64}\.sqlite$/.test(path)).length).toBeGreaterThan(0);
    expect(paths.filter((path) => /^projects\/[0-9a-f]{64}\.sqlite$/.test(path)).length).toBeGreaterThan(0);
    // …and not one of them, nor the directories, is open to anyone else.
    const own = Object.entries(found).filter(
      ([path]) => !path.startsWith("backups/") && path !== "notes.txt",
    );
    expect(found["targets/"]).toBe("700");
    const loose = own.filter(([path, mode]) => mode !== (path.endsWith("/") ? "700" : "600"));
    expect(loose).toEqual([]);
    expect((statSync(dataDir).mode & 0o777).toString(8)).toBe("700");
    // What is not the server's keeps its modes and contents.
    expect(found["notes.txt"]).toBe("666");
    expect(found["backups/"]).toBe("755");
    expect(found["backups/receivers.json"]).toBe("644");
    expect(readFileSync(join(dataDir, "notes.txt"), "utf8")).toBe("kept");
  });

  it("keeps no file for a request that names an environment or a receiver that does not exist", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "deno-strangers-"));
    stack = await startDenoStack({ dataDir });
    const stranger = `1a${Math.floor(Math.random() * 1e12)}`;
    const requests: [string, string, string | undefined][] = [
      ["POST", `/v1-webhooks/endpoint?key=k&projectId=${stranger}`, undefined],
      ["GET", `/v1-webhooks/endpoint?key=k&projectId=1a5`, undefined],
      ["GET", `/v1-webhooks/receivers?projectId=${stranger}`, KEY],
      ["GET", `/v1-webhooks/receivers/r${"0".repeat(26)}?projectId=1a5`, KEY],
      ["DELETE", `/v1-webhooks/receivers/r${"0".repeat(26)}?projectId=1a5`, KEY],
      ["GET", `/v1-webhooks/metrics?projectId=${stranger}`, KEY],
    ];
    for (const [method, path, authorization] of requests) {
      const answer = await fetch(new URL(path, stack.url), {
        method,
        headers: authorization ? { authorization } : {},
      });
      expect(answer.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      await answer.arrayBuffer();
    }
    const objects = (kind: string) =>
      existsSync(join(dataDir as string, kind)) ? readdirSync(join(dataDir as string, kind)) : [];
    expect([...objects("projects"), ...objects("targets")]).toEqual([]);
  });
});
