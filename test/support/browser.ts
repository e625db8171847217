import { access, constants } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium, so the tests need no downloaded browser build. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

// Quiet and deterministic: no background traffic, updates, sync or QUIC to or from anywhere.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

/** Headless chromium with a fresh temporary profile (playwright's launch makes one). */
export async function launchBrowser(): Promise<Browser> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium: apt-get install chromium`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
