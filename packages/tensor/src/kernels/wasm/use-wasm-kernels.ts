import { registerKernelSet, unregisterKernelSet, useKernelSet } from '../registry';
import { wasmKernelSet } from './kernel-set';
import { loadWasmKernels, type LoadWasmKernelsOptions } from './load-wasm-kernels';

export type UseWasmKernelsOptions = LoadWasmKernelsOptions;

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
  const set = wasmKernelSet(wasm);
  registerKernelSet(set); // replaces (and disposes) a 'wasm' set of other options
  useKernelSet(set.name);
  return true;
}

/** Puts the plain TypeScript kernels back in use (kernels installed with `setKernels` stay) and stops the WebAssembly workers. */
export function useJsKernels(): void {
  unregisterKernelSet('wasm');
  useKernelSet('js');
}
