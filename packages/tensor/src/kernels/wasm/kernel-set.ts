import type { KernelSet } from '../registry';
import { createAttentionBackwardWasm, createAttentionForwardWasm } from './attention';
import { releaseWasmKernels } from './load-wasm-kernels';
import { createMatmulKernelWasm } from './matmul';
import type { WasmKernelInstance } from './wasm-kernel-instance';

/** One set per instance, so putting the same instance in use twice is one set (and one pool). */
const setOf = new WeakMap<WasmKernelInstance, KernelSet>();

/**
 * The WebAssembly SIMD kernels of one instance as a kernel set named `name` (default 'wasm'): matmul
 * and the fused attention forward and backward; the plain TypeScript kernels do the rest. `dispose`
 * stops the instance's worker threads (if any) and forgets the instance.
 */
export function wasmKernelSet(wasm: WasmKernelInstance, name = 'wasm'): KernelSet {
  const cached = setOf.get(wasm);
  if (cached && cached.name === name) return cached;
  const set: KernelSet = Object.freeze({
    name,
    kernels: Object.freeze({
      matmul: createMatmulKernelWasm(wasm),
      attentionForward: createAttentionForwardWasm(wasm),
      attentionBackward: createAttentionBackwardWasm(wasm),
    }),
    dispose: () => releaseWasmKernels(wasm),
  });
  setOf.set(wasm, set);
  return set;
}
