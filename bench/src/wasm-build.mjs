// Which WebAssembly build of heed's kernels ran: relaxed SIMD (fused multiply-add) or plain
// SIMD-128, and on how many threads — taken from the kernel instance, never from the command line.
//
// `useWasmKernels()` resolves to `{ simd: 'relaxed' | 'plain', threads: n }` (or false). Where a
// built @heed/tensor still resolves `true`, the same facts are read off the instance another way:
// the build it picks is the relaxed one exactly when the engine validates that build's bytes (read
// from the built package), and its threads are the worker threads it started.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A build's short name for the table: `wasm relaxed SIMD ×2`, `wasm SIMD-128 ×1`, `js`, `native ×2`. */
export function buildLabel(build) {
  if (!build) return '?';
  const threads = build.threads === null || build.threads === undefined ? '' : ` ×${build.threads}`;
  const asked =
    build.threadsAsked !== undefined && build.threads !== null && build.threads !== build.threadsAsked
      ? ` (asked ${build.threadsAsked})`
      : '';
  if (build.kind === 'js' || build.kind === 'native') return `${build.kind}${threads}${asked}`;
  const simd = { relaxed: 'relaxed SIMD', plain: 'SIMD-128', none: 'no SIMD' }[build.simd] ?? 'SIMD ?';
  return `${build.kind} ${simd}${threads}${asked}`;
}

/**
 * heed's wasm build from what `useWasmKernels({ threads })` resolved.
 *   result:   its value: `{ simd, threads }`, or `true` (older @heed/tensor)
 *   fallback: for `true`: { relaxed(threads) -> boolean | null, threadsStarted: number | null }
 */
export function heedWasmBuild(result, threadsAsked, fallback) {
  if (result === false || result === undefined || result === null) {
    throw new Error('useWasmKernels() resolved false: WebAssembly SIMD is unavailable, the wasm row would measure the JS kernels');
  }
  if (typeof result === 'object') {
    if (result.simd !== 'relaxed' && result.simd !== 'plain')
      throw new Error(`useWasmKernels() resolved ${JSON.stringify(result)}: expected simd 'relaxed' or 'plain'`);
    return {
      kind: 'wasm',
      simd: result.simd,
      threads: result.threads,
      threadsAsked,
      source: `useWasmKernels() -> ${JSON.stringify(result)}`,
    };
  }
  const threads = fallback.threadsStarted;
  const relaxed = fallback.relaxed(threads ?? threadsAsked);
  return {
    kind: 'wasm',
    simd: relaxed === null ? 'unknown' : relaxed ? 'relaxed' : 'plain',
    threads,
    threadsAsked,
    source: `useWasmKernels() -> ${String(result)}; build from WebAssembly.validate of @heed/tensor's relaxed bytes, threads from the worker threads it started`,
  };
}

/**
 * Whether this engine validates the relaxed-SIMD build that the built @heed/tensor carries (the
 * threads build when `threads` > 1) — the test its loader uses to choose that build. null when the
 * bytes cannot be found in the built package.
 */
export function relaxedBuildValidates(threads) {
  const name = threads > 1 ? 'WASM_RELAXED_SIMD_THREADS_BASE64' : 'WASM_RELAXED_SIMD_BASE64';
  try {
    const file = createRequire(import.meta.url).resolve('@heed/tensor');
    const match = new RegExp(`\\b${name}\\s*=\\s*["'\`]([A-Za-z0-9+/=]+)["'\`]`).exec(readFileSync(file, 'utf8'));
    if (!match) return null;
    return WebAssembly.validate(Buffer.from(match[1], 'base64'));
  } catch {
    return null;
  }
}
