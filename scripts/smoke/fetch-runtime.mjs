// Fetches a pinned JavaScript runtime from the npm registry (no other download) and prints the path of
// its binary. The tarball is fetched with `npm pack` into a cache folder keyed by package and version
// (~/.cache/heed-ci/<package>@<version>, or $HEED_CI_CACHE) and reused while its binary is there.
//   node scripts/smoke/fetch-runtime.mjs node|deno|bun      -> /…/bin/node, /…/deno, /…/bin/bun
//   node scripts/smoke/fetch-runtime.mjs node --bin-dir     -> the folder holding it (to put first on PATH)
// The pins are the runtimes heed's CI tests (README "Tested runtimes").
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RUNTIMES = {
  // node-<platform>-<arch> packages carry the official build (bin/node inside).
  node: { version: '24.22.3', package: ({ platform, arch }) => `node-${platform}-${arch}`, binary: 'bin/node' },
  // the platform packages named in the `deno` package's optionalDependencies
  deno: { version: '2.9.6', package: ({ platform, arch }) => `@deno/${platform}-${arch}-glibc`, binary: 'deno' },
  // the platform packages named in the `bun` package's optionalDependencies
  bun: {
    version: '1.4.5',
    package: ({ platform, arch }) => `@oven/bun-${platform}-${{ x64: 'x64', arm64: 'aarch64' }[arch]}`,
    binary: 'bin/bun',
  },
};

/** Path of the runtime's binary, fetched into the cache on first use. */
export function fetchRuntime(name, { log = (line) => console.error(line) } = {}) {
  const runtime = RUNTIMES[name];
  if (!runtime) throw new Error(`fetch-runtime: unknown runtime '${name}' (known: ${Object.keys(RUNTIMES).join(', ')})`);
  // Linux only: the registry has no node-darwin-* package of Node 24 (elsewhere, install the runtimes yourself).
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    throw new Error(
      `fetch-runtime: no ${name} package for ${process.platform}-${process.arch} here (Linux x64 and arm64 only); install ${name} yourself`,
    );
  }
  const pkg = runtime.package({ platform: process.platform, arch: process.arch });
  const cacheRoot = process.env.HEED_CI_CACHE ?? join(homedir(), '.cache', 'heed-ci');
  const folder = join(cacheRoot, `${pkg.replace('/', '+')}@${runtime.version}`);
  const binary = join(folder, 'package', runtime.binary);
  if (existsSync(binary)) return binary;

  const started = Date.now();
  const partial = `${folder}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    const tarball = execFileSync('npm', ['pack', `${pkg}@${runtime.version}`, '--silent', '--pack-destination', partial], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
      .trim()
      .split('\n')
      .pop();
    execFileSync('tar', ['-xzf', join(partial, tarball), '-C', partial], { stdio: 'inherit' });
    rmSync(join(partial, tarball));
    chmodSync(join(partial, 'package', runtime.binary), 0o755);
    rmSync(folder, { recursive: true, force: true });
    renameSync(partial, folder);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  }
  log(`fetch-runtime: ${pkg}@${runtime.version} into ${folder} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return binary;
}

/** Removes cached versions of a runtime other than the pinned one (keeps the cache from growing). */
export function pruneRuntimeCache() {
  const cacheRoot = process.env.HEED_CI_CACHE ?? join(homedir(), '.cache', 'heed-ci');
  if (!existsSync(cacheRoot)) return;
  const keep = new Set(
    Object.values(RUNTIMES).map((r) => `${r.package({ platform: process.platform, arch: process.arch }).replace('/', '+')}@${r.version}`),
  );
  for (const entry of readdirSync(cacheRoot)) {
    if (entry.includes('@') && !keep.has(entry) && !entry.includes('.partial-'))
      rmSync(join(cacheRoot, entry), { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [name, flag] = process.argv.slice(2);
  if (!name) {
    console.error('usage: node scripts/smoke/fetch-runtime.mjs node|deno|bun [--bin-dir]');
    process.exit(2);
  }
  try {
    pruneRuntimeCache();
    const binary = fetchRuntime(name);
    console.log(flag === '--bin-dir' ? dirname(binary) : binary);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
