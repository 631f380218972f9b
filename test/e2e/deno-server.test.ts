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
  it("listens on 127.0.0.1 only, unless --host says otherwise", async () => {
    stack = await startDenoStack();
    expect(listeningAddresses(Number(stack.url.port))).toEqual(["127.0.0.1"]);
    await stack.dispose();
    stack = await startDenoStack({ host: "0.0.0.0" });
    expect(listeningAddresses(Number(stack.url.port))).toEqual(["0.0.0.0"]);
  });

  it("keeps every file under DATA_DIR mode 0600 and every directory 0700, older ones too", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "deno-modes-"));
    chmodSync(dataDir, 0o755);
    // What an earlier version left: readable by everyone.
    mkdirSync(join(dataDir, "backups"), { mode: 0o755 });
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
    const loose = Object.entries(found).filter(
      ([path, mode]) => mode !== (path.endsWith("/") ? "700" : "600"),
    );
    expect(loose).toEqual([]);
    expect((statSync(dataDir).mode & 0o777).toString(8)).toBe("700");
    // Contents are left alone.
    expect(readFileSync(join(dataDir, "notes.txt"), "utf8")).toBe("kept");
  });
});
