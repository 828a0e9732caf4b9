// Headless Chromium with WebGPU on SwiftShader: the pinned @sparticuz/chromium (extracted by scripts/chromium.mjs
// under this package's node_modules/.cache), driven by playwright-core.
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
// @ts-expect-error: a plain ES module script shared with the demo's e2e (no type declarations)
import { findChromium, SWIFTSHADER_FLAGS, WEBGPU_PAGE_FLAGS } from '../../../../scripts/chromium.mjs';

/** The flags: WebGPU on SwiftShader, offline (see scripts/chromium.mjs). */
export const WEBGPU_FLAGS: readonly string[] = [...WEBGPU_PAGE_FLAGS, ...SWIFTSHADER_FLAGS];

export interface LaunchedChromium {
  readonly browser: Browser;
  /** Where the browser came from, e.g. '@sparticuz/chromium 147.0.0'. */
  readonly source: string;
  readonly expectedMajor: number;
}

/** The pinned Chromium (never CHROMIUM_PATH: this route tests that browser's WebGPU), headless, with WEBGPU_FLAGS. */
export async function launchChromium(): Promise<LaunchedChromium> {
  const packageDir = fileURLToPath(new URL('../..', import.meta.url));
  const found = (await findChromium(packageDir, { allowOverride: false })) as { path: string; source: string; expectedMajor: number };
  const browser = await chromium.launch({ executablePath: found.path, headless: true, args: [...WEBGPU_FLAGS] });
  return { browser, source: found.source, expectedMajor: found.expectedMajor };
}
