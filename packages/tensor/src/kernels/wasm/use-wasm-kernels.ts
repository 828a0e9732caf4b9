import { getKernels, plainKernels, setKernels, type Kernels } from '../registry';
import { createAttentionBackwardWasm } from './attention-backward-wasm';
import { createAttentionForwardWasm } from './attention-forward-wasm';
import { loadWasmKernels, type LoadWasmKernelsOptions } from './load-wasm-kernels';
import { createMatmulKernelWasm } from './matmul-wasm';

export type UseWasmKernelsOptions = LoadWasmKernelsOptions;

/** The kernels the last successful useWasmKernels() installed (so useJsKernels removes only those). */
let installed: Partial<Kernels> = {};

/**
 * Switches matmul and the fused attention (forward and backward) to WebAssembly SIMD kernels (float32
 * accumulation; results differ from the JS kernels' float64 sums in the last bits). Resolves true when
 * they are active, false (keeping the current kernels) where WebAssembly SIMD is unavailable. Call once
 * at start-up; `useJsKernels()` switches back.
 *
 *   await useWasmKernels();                 // SIMD-128, relaxed SIMD (FMA) where available
 *   await useWasmKernels({ threads: 2 });   // also split large products over 2 threads (opt-in)
 *
 * Threads need shared memory and workers (Node; in browsers a cross-origin isolated page) and fall
 * back to one thread where either is missing. The kernels are compiled asynchronously, so this is
 * fine on a browser's main thread.
 */
export async function useWasmKernels(options: UseWasmKernelsOptions = {}): Promise<boolean> {
  const wasm = await loadWasmKernels(options);
  if (!wasm) return false;
  useJsKernels();
  installed = {
    matmul: createMatmulKernelWasm(wasm),
    attentionForward: createAttentionForwardWasm(wasm),
    attentionBackward: createAttentionBackwardWasm(wasm),
  };
  setKernels(installed);
  return true;
}

/** Puts the plain TypeScript kernels back where useWasmKernels() had replaced them. */
export function useJsKernels(): void {
  const active = getKernels();
  const plain = plainKernels();
  const restore: Partial<Kernels> = {};
  for (const key of Object.keys(installed) as (keyof Kernels)[]) {
    if (active[key] === installed[key]) Object.assign(restore, { [key]: plain[key] });
  }
  setKernels(restore);
  installed = {};
}
