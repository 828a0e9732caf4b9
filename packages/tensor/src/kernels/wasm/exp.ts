import type { WasmKernelInstance } from './wasm-kernel-instance';

/**
 * data[i] = e^data[i] in place with the module's vectorized exp (the one the fused attention kernel
 * uses): float32, relative error ≤ 1e-7 where e^x is a normal float32, 0 below (x < −87.34, −∞), +∞ above 88.72.
 */
export function expWasm(wasm: WasmKernelInstance, data: Float32Array): void {
  const at = wasm.base;
  if (!wasm.reserve(at + data.length * 4)) throw new RangeError(`expWasm: cannot hold ${data.length} values in WebAssembly memory`);
  const heap = wasm.heap();
  heap.set(data, at >> 2);
  wasm.call('expInPlace', { data: at, length: data.length });
  data.set(heap.subarray(at >> 2, (at >> 2) + data.length));
}
