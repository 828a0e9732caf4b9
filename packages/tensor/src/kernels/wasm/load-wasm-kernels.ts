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

/** Whether this engine can run the plain SIMD-128 build (false where WebAssembly or SIMD is missing). */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(decodeBase64(WASM_SIMD_BASE64));
}

const cache = new Map<string, Promise<WasmKernelInstance | null>>();

/**
 * Compiles and instantiates the kernel module asynchronously (allowed on a browser's main thread at
 * any size), once per set of options; null where WebAssembly SIMD is unavailable.
 */
export function loadWasmKernels(options: LoadWasmKernelsOptions = {}): Promise<WasmKernelInstance | null> {
  const relaxed = options.relaxedSimd ?? true;
  const threads = Math.max(1, Math.floor(options.threads ?? 1));
  const key = `${relaxed}/${threads}`;
  let pending = cache.get(key);
  if (!pending) {
    pending = threads > 1 ? instantiateThreads(relaxed, threads) : instantiate(relaxed);
    cache.set(key, pending);
  }
  return pending;
}

/** The relaxed build where wanted and valid, else the plain one where valid, else null. */
function pickBytes(relaxed: boolean, relaxedBase64: string, plainBase64: string): { bytes: Uint8Array<ArrayBuffer>; relaxed: boolean } | null {
  if (typeof WebAssembly !== 'object') return null;
  if (relaxed) {
    const bytes = decodeBase64(relaxedBase64);
    if (WebAssembly.validate(bytes)) return { bytes, relaxed: true };
  }
  const bytes = decodeBase64(plainBase64);
  return WebAssembly.validate(bytes) ? { bytes, relaxed: false } : null;
}

async function instantiate(wantRelaxed: boolean): Promise<WasmKernelInstance | null> {
  const picked = pickBytes(wantRelaxed, WASM_RELAXED_SIMD_BASE64, WASM_SIMD_BASE64);
  if (!picked) return null;
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(picked.bytes), {});
  const wasm = new WasmKernelInstance(instance, instance.exports.memory as WebAssembly.Memory, picked.relaxed);
  wasm.warmUp();
  return wasm;
}

/** Shared memory, the module instantiated on it here and in `threads − 1` workers; one thread where that fails. */
async function instantiateThreads(wantRelaxed: boolean, threads: number): Promise<WasmKernelInstance | null> {
  const picked = typeof SharedArrayBuffer === 'function' ? pickBytes(wantRelaxed, WASM_RELAXED_SIMD_THREADS_BASE64, WASM_SIMD_THREADS_BASE64) : null;
  if (picked) {
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
      const module = await WebAssembly.compile(picked.bytes);
      const instance = await WebAssembly.instantiate(module, { env: { memory } });
      const control = align64((instance.exports.heapBase as () => number)());
      const pool = await WasmThreadPool.create(module, memory, control, threads);
      if (pool) {
        // The workers run the same compiled module: warming it up here warms it up for them too.
        const wasm = new WasmKernelInstance(instance, memory, picked.relaxed, pool, control + CONTROL_BYTES);
        wasm.warmUp();
        return wasm;
      }
    }
  }
  return loadWasmKernels({ relaxedSimd: wantRelaxed, threads: 1 });
}
