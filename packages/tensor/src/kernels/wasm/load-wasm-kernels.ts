import type { WasmKernelExports } from './abi';
import { decodeBase64 } from './decode-base64';
import { WASM_RELAXED_SIMD_BASE64, WASM_RELAXED_SIMD_THREADS_BASE64, WASM_SIMD_BASE64, WASM_SIMD_THREADS_BASE64 } from './wasm-bytes';
import { WasmKernelInstance, align64 } from './wasm-kernel-instance';
import { CONTROL_BYTES, WasmThreadPool } from './wasm-thread-pool';

export interface LoadWasmKernelsOptions {
  /**
   * Prefer the relaxed-SIMD build (fused multiply-add, ≈ 1.3× faster matmul) where the engine validates
   * it (current browsers; Node 20 only with --experimental-wasm-relaxed-simd). Default true. Its results
   * may differ from the plain build in the last bits, and between engines.
   */
  relaxedSimd?: boolean;
  /**
   * Threads for large products and attention (the calling one included), default 1. More than one
   * starts worker threads (Node's worker_threads, or Web Workers — which need a cross-origin isolated
   * page for shared memory); where they cannot start, the kernels run on one thread.
   */
  threads?: number;
}

/** The four builds: SIMD-128 or relaxed SIMD, each with its own memory or on imported shared memory. */
const BUILDS = {
  simd: WASM_SIMD_BASE64,
  'relaxed-simd': WASM_RELAXED_SIMD_BASE64,
  'simd-threads': WASM_SIMD_THREADS_BASE64,
  'relaxed-simd-threads': WASM_RELAXED_SIMD_THREADS_BASE64,
} as const;
type Build = keyof typeof BUILDS;

const validated = new Map<Build, Uint8Array<ArrayBuffer> | null>();

/** The bytes of a build where this engine validates it, else null (decoded and validated once). */
function bytesOf(build: Build): Uint8Array<ArrayBuffer> | null {
  if (!validated.has(build)) {
    const bytes = typeof WebAssembly === 'object' ? decodeBase64(BUILDS[build]) : null;
    validated.set(build, bytes && WebAssembly.validate(bytes) ? bytes : null);
  }
  return validated.get(build)!;
}

/** Whether this engine can run the plain SIMD-128 build (false where WebAssembly or SIMD is missing). */
export function wasmSimdSupported(): boolean {
  return bytesOf('simd') !== null;
}

/** Whether this engine validates the relaxed-SIMD build (browsers; Node 20 only with --experimental-wasm-relaxed-simd). */
export function wasmRelaxedSimdSupported(): boolean {
  return bytesOf('relaxed-simd') !== null;
}

/** One instance (and, with threads, one pool) per build and thread count: options that pick the same build share it. */
const cache = new Map<string, Promise<WasmKernelInstance | null>>();
/** The cache key of each instance that holds a pool. */
const poolKeys = new WeakMap<WasmKernelInstance, string>();

/**
 * Compiles and instantiates the kernel module asynchronously (allowed on a browser's main thread at
 * any size), once per build and thread count; null where WebAssembly SIMD is unavailable.
 */
export function loadWasmKernels(options: LoadWasmKernelsOptions = {}): Promise<WasmKernelInstance | null> {
  const relaxed = (options.relaxedSimd ?? true) && wasmRelaxedSimdSupported();
  const threads = Math.max(1, Math.floor(options.threads ?? 1));
  const key = `${relaxed ? 'relaxed-simd' : 'simd'}/${threads}`;
  let pending = cache.get(key);
  if (!pending) {
    pending = (threads > 1 ? instantiateThreads(relaxed, threads) : instantiate(relaxed)).then((wasm) => {
      if (wasm?.pool) poolKeys.set(wasm, key);
      return wasm;
    });
    cache.set(key, pending);
  }
  return pending;
}

/**
 * Stops the instance's workers and forgets it, so the next load of its build and thread count starts
 * afresh. One-thread instances hold no threads: they stay cached.
 */
export function releaseWasmKernels(wasm: WasmKernelInstance): void {
  if (!wasm.pool) return;
  wasm.pool.terminate();
  const key = poolKeys.get(wasm);
  if (key !== undefined) cache.delete(key);
  poolKeys.delete(wasm);
}

async function instantiate(relaxed: boolean): Promise<WasmKernelInstance | null> {
  const bytes = bytesOf(relaxed ? 'relaxed-simd' : 'simd');
  if (!bytes) return null;
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes), {});
  const wasm = new WasmKernelInstance(instance, instance.exports.memory as WebAssembly.Memory, relaxed);
  wasm.warmUp();
  return wasm;
}

/** Shared memory, the module instantiated on it here and in `threads − 1` workers; one thread where that fails. */
async function instantiateThreads(relaxed: boolean, threads: number): Promise<WasmKernelInstance | null> {
  const bytes = typeof SharedArrayBuffer === 'function' ? bytesOf(relaxed ? 'relaxed-simd-threads' : 'simd-threads') : null;
  if (bytes) {
    let memory: WebAssembly.Memory | null = null;
    for (const maximum of [65536, 16384]) {
      try {
        memory = new WebAssembly.Memory({ initial: 2, maximum, shared: true });
        break;
      } catch {
        // shared memory unavailable (not cross-origin isolated) or too large a reservation
      }
    }
    if (memory) {
      const module = await WebAssembly.compile(bytes);
      const instance = await WebAssembly.instantiate(module, { env: { memory } });
      const control = align64((instance.exports as unknown as WasmKernelExports).heapBase());
      const pool = await WasmThreadPool.create(module, memory, control, threads);
      if (pool) {
        // The workers run the same compiled module: warming it up here warms it up for them too.
        const wasm = new WasmKernelInstance(instance, memory, relaxed, pool, control + CONTROL_BYTES);
        wasm.warmUp();
        return wasm;
      }
    }
  }
  return loadWasmKernels({ relaxedSimd: relaxed, threads: 1 });
}
