// Vitest global setup: the tests run WebGPU in Node through the `webgpu` package (Dawn's Node bindings) on
// SwiftShader, the software Vulkan driver that ships inside the pinned @sparticuz/chromium (no GPU needed).
// Extracting it takes ~10 s the first time; the folder is cached under node_modules/.cache.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain ES module script shared with the demo's e2e (no type declarations)
import { findChromium } from '../../../scripts/chromium.mjs';

export default async function setup(): Promise<void> {
  if (process.env.VK_ICD_FILENAMES) return; // a driver chosen by the caller (e.g. a real GPU's ICD)
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  const { path } = (await findChromium(packageDir, { allowOverride: false })) as { path: string };
  const icd = join(dirname(path), 'vk_swiftshader_icd.json');
  if (!existsSync(icd)) throw new Error(`@heed/webgpu tests: no SwiftShader ICD at ${icd}`);
  // Test workers are processes forked after this setup: they inherit both variables, and the dynamic loader
  // reads LD_LIBRARY_PATH when a process starts (Dawn loads libvulkan.so.1, which ships beside the driver).
  process.env.VK_ICD_FILENAMES = icd;
  process.env.LD_LIBRARY_PATH = [dirname(path), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}
