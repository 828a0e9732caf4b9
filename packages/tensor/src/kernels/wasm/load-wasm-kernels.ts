import { decodeBase64 } from './decode-base64';
import { WASM_RELAXED_SIMD_BASE64, WASM_SIMD_BASE64 } from './wasm-bytes';
import { WasmKernelInstance } from './wasm-kernel-instance';

export interface LoadWasmKernelsOptions {
  /**
   * Prefer the relaxed-SIMD build (fused multiply-add, ≈ 1.3× faster matmul) where the engine validates
   * it (current browsers; Node 20 only with --experimental-wasm-relaxed-simd). Default true. Its results
   * may differ from the plain build in the last bits, and between engines.
   */
  relaxedSimd?: boolean;
}

/** Whether this engine can run the plain SIMD-128 build (false where WebAssembly or SIMD is missing). */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(decodeBase64(WASM_SIMD_BASE64));
}

const cache = new Map<boolean, Promise<WasmKernelInstance | null>>();

/**
 * Compiles and instantiates the kernel module asynchronously (allowed on a browser's main thread at
 * any size), once per build; null where WebAssembly SIMD is unavailable.
 */
export function loadWasmKernels(options: LoadWasmKernelsOptions = {}): Promise<WasmKernelInstance | null> {
  const wantRelaxed = options.relaxedSimd ?? true;
  let pending = cache.get(wantRelaxed);
  if (!pending) {
    pending = instantiate(wantRelaxed);
    cache.set(wantRelaxed, pending);
  }
  return pending;
}

async function instantiate(wantRelaxed: boolean): Promise<WasmKernelInstance | null> {
  if (typeof WebAssembly !== 'object') return null;
  if (wantRelaxed) {
    const relaxed = decodeBase64(WASM_RELAXED_SIMD_BASE64);
    if (WebAssembly.validate(relaxed)) {
      const instance = await WebAssembly.instantiate(await WebAssembly.compile(relaxed), {});
      return new WasmKernelInstance(instance, true);
    }
  }
  const plain = decodeBase64(WASM_SIMD_BASE64);
  if (!WebAssembly.validate(plain)) return null;
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(plain), {});
  return new WasmKernelInstance(instance, false);
}
