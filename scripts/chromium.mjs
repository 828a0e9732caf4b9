// Which Chromium the e2e drives: CHROMIUM_PATH when set, else the Chromium pinned in package.json as
// @sparticuz/chromium (a headless shell inside an npm package), so every machine with npm tests with the
// same browser and none needs one from apt.
//
// @sparticuz/chromium extracts its browser into os.tmpdir()/chromium and reuses whatever is there without
// checking its version. We extract it instead into a folder of our own, named after the pinned version,
// under node_modules/.cache (git-ignored, removed with node_modules): the extraction runs with TMPDIR
// pointing at a fresh temporary folder beside it, which is renamed into place only once complete, so a
// half-finished extraction is never reused. Only the browser binary is used: its default launch
// arguments (--single-process, site isolation off, ...) break the cross-origin isolation heed's
// threads need; run.mjs passes its own.
//
// Shared by the demo's e2e (apps/demo/e2e), the GPU bench's browser route and @heed/webgpu's tests (which use the SwiftShader Vulkan driver
// that ships beside the browser). Each caller passes its package folder: @sparticuz/chromium is resolved from
// there and extracted under its node_modules/.cache.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Chromium's flags for heed's pages: WebGPU on (`--enable-unsafe-webgpu`: without it navigator.gpu finds no adapter on
 * Linux; with no GPU Chromium falls back to the SwiftShader Vulkan that ships beside it), no sandbox (CI containers
 * have no user namespaces), and nothing that reaches the network. Used by the demo's e2e, @heed/webgpu's browser
 * tests and the GPU bench's browser route.
 */
export const WEBGPU_PAGE_FLAGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * On SwiftShader: Dawn's zero fill of workgroup memory off. SwiftShader compiles that fill element by element (seconds
 * per attention kernel), and heed's kernels never read workgroup memory they did not write.
 */
export const SWIFTSHADER_FLAGS = ['--enable-dawn-features=disable_workgroup_init'];

const PACKAGE = '@sparticuz/chromium';
const MARKER = 'heed-extracted.json';

/**
 * { path, source, expectedMajor } of the Chromium to launch; throws with a hint when there is none.
 * `packageDir`: the folder of the package that depends on @sparticuz/chromium (its node_modules/.cache
 * holds the extraction). `allowOverride`: whether CHROMIUM_PATH may name another browser.
 */
export async function findChromium(packageDir, { allowOverride = true } = {}) {
  const root = packageDir;
  const override = process.env.CHROMIUM_PATH;
  if (override && allowOverride) {
    if (!existsSync(override)) throw new Error(`e2e: CHROMIUM_PATH=${override} does not exist`);
    return { path: override, source: 'CHROMIUM_PATH', expectedMajor: null };
  }
  let entry;
  try {
    entry = createRequire(join(packageDir, 'package.json')).resolve(PACKAGE);
  } catch {
    throw new Error(`e2e: ${PACKAGE} is not installed in ${packageDir} (run \`pnpm install\`), and CHROMIUM_PATH is not set`);
  }
  const chromiumDir = findPackageDir(entry);
  const { version } = JSON.parse(readFileSync(join(chromiumDir, 'package.json'), 'utf8'));
  const cache = join(root, 'node_modules', '.cache', 'heed-chromium');
  const target = join(cache, version);
  const binary = join(target, 'chromium');
  if (!isComplete(target, version) || !existsSync(binary)) {
    rmSync(target, { recursive: true, force: true });
    const partial = join(cache, `${version}.partial-${process.pid}`);
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    const started = Date.now();
    const { default: Chromium } = await import(pathToFileURL(entry).href); // the caller's copy, not one beside this script
    const savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = partial; // os.tmpdir() reads it on every call: the extraction lands here
    let extracted;
    try {
      extracted = await Chromium.executablePath();
    } finally {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
    }
    if (extracted !== join(partial, 'chromium')) {
      rmSync(partial, { recursive: true, force: true });
      throw new Error(`e2e: ${PACKAGE} ${version} extracted its browser to ${extracted}, not into ${partial}`);
    }
    writeFileSync(join(partial, MARKER), `${JSON.stringify({ package: PACKAGE, version })}\n`);
    renameSync(partial, target);
    console.log(`e2e: extracted ${PACKAGE} ${version} into ${target} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return { path: binary, source: `${PACKAGE} ${version}`, expectedMajor: Number(version.split('.')[0]) };
}

function findPackageDir(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === PACKAGE) return dir;
  }
  throw new Error(`e2e: cannot find the package.json of ${PACKAGE} above ${file}`);
}

function isComplete(dir, version) {
  try {
    const marker = JSON.parse(readFileSync(join(dir, MARKER), 'utf8'));
    return marker.package === PACKAGE && marker.version === version;
  } catch {
    return false;
  }
}
