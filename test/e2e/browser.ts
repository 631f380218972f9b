import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/**
 * A real headless Chromium for the page tests: Debian's chromium package driven by playwright-core
 * (never `playwright install`: no browser download). CI installs it (see .ci/run); elsewhere the
 * tests are skipped when the binary is missing, and fail if CI is set.
 */
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
export const chromiumAvailable = existsSync(CHROMIUM);
if (!chromiumAvailable && process.env.CI)
  throw new Error(`${CHROMIUM} is not installed (CI installs chromium)`);

/** Headless, and quiet on the network: the tests only ever talk to 127.0.0.1. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** A fresh browser (launch implies a fresh, temporary user-data directory). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
