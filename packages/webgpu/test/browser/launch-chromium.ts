// Headless Chromium with WebGPU on SwiftShader: the pinned @sparticuz/chromium (extracted by scripts/chromium.mjs
// under this package's node_modules/.cache), driven by playwright-core.
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
// @ts-expect-error: a plain ES module script shared with the demo's e2e (no type declarations)
import { findChromium } from '../../../../scripts/chromium.mjs';

/**
 * The flags: `--enable-unsafe-webgpu` is the one that matters (without it navigator.gpu finds no adapter on
 * Linux); Chromium then picks SwiftShader's Vulkan, which ships beside the browser, as a fallback adapter.
 * The rest keep the browser from reaching the network. No sandbox: CI containers have no user namespaces.
 * `disable_workgroup_init`: as in test/test-gpu.ts, SwiftShader compiles Dawn's zero fill of workgroup memory
 * element by element (seconds per attention kernel); heed's kernels never read workgroup memory they did not write.
 */
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-dawn-features=disable_workgroup_init',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
] as const;

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
