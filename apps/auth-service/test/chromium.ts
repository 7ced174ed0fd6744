import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium, installed by `tools/browser install` (called by this project's Jest global set-up). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Debian chromium driven by playwright-core (which brings no browser of its own). A missing
 * browser is a failure, never a skip: the browser tests exist to run in a real one.
 */
export async function launchChromium(): Promise<Browser> {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`Debian's chromium is missing at ${CHROMIUM}: run \`tools/browser install\` (as root) before the browser tests`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium refuses to start its sandbox as root (CI containers run as root).
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}
