// Imported first by `npm run dev` and `npm test`: on a Node older than package.json's "engines",
// stop with a message that names the version needed, before anything fails in a way that does not
// say why (npm itself refuses `npm install` there, through .npmrc's engine-strict). Plain code that
// Node 18 and 20 can still parse and run, and it imports nothing a newer Node added.
import { readFileSync } from "node:fs";

const { engines } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const wanted = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(engines.node);
if (!wanted) throw new Error(`package.json engines.node is not of the form >=X.Y.Z: ${engines.node}`);
const needed = wanted.slice(1).map(Number);
const running = process.versions.node.split(".").map(Number);
const older = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

if (older(running, needed) < 0) {
  process.stderr.write(
    `rancher-hooks needs Node ${needed.join(".")} or newer; this is Node ${process.versions.node}.\n` +
      "Install a newer Node (the version in .nvmrc: `nvm install` then `nvm use`) and try again.\n",
  );
  process.exit(1);
}
