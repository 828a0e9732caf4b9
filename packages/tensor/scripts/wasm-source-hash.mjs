// The hash stamped into src/kernels/wasm/wasm-bytes.ts: SHA-256 over the kernel sources
// (assembly/*.ts), the micro-kernel generator and the compiler flags of the builds.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The memory of the threads builds: imported, shared, up to 4 GiB (65536 pages). */
const SHARED = ['--importMemory', '--sharedMemory', '--maximumMemory', '65536'];

/** Compiler flags of the builds: plain SIMD-128 or relaxed SIMD, each with its own memory or with shared memory for threads. */
export const BUILDS = {
  plain: ['--enable', 'simd'],
  relaxed: ['--enable', 'simd,relaxed-simd'],
  plainThreads: ['--enable', 'simd,threads', ...SHARED],
  relaxedThreads: ['--enable', 'simd,relaxed-simd,threads', ...SHARED],
};
/** Flags common to both builds. */
export const COMMON_FLAGS = ['--runtime', 'stub', '-O3', '--noAssert'];

const text = (path) => readFileSync(path, 'utf8').replace(/\r\n/g, '\n');

export function wasmSourceHash() {
  const hash = createHash('sha256');
  for (const name of readdirSync(`${root}assembly`)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    hash
      .update(name)
      .update('\0')
      .update(text(`${root}assembly/${name}`))
      .update('\0');
  }
  hash.update(text(`${root}scripts/gen-microkernels.mjs`));
  hash.update(JSON.stringify([BUILDS, COMMON_FLAGS]));
  return hash.digest('hex');
}
