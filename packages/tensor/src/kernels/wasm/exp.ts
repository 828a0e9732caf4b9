import type { WasmKernelInstance } from './wasm-kernel-instance';

/**
 * data[i] = e^data[i] in place with the module's vectorized exp (the one the fused attention kernels
 * use for the running-max rescale): float32, relative error ≤ 1e-7 where e^x is a normal float32, 0 below (x < −87.34, −∞), +∞ above 88.72.
 */
export function expWasm(wasm: WasmKernelInstance, data: Float32Array): void {
  const at = wasm.base;
  if (!wasm.reserve(at + data.length * 4)) throw new RangeError(`expWasm: cannot hold ${data.length} values in WebAssembly memory`);
  const heap = wasm.heap();
  heap.set(data, at >> 2);
  wasm.call('expInPlace', { data: at, length: data.length });
  data.set(heap.subarray(at >> 2, (at >> 2) + data.length));
}

/**
 * data[i] = e^data[i] in place, for data[i] ≤ 0, with the module's cheaper exp for softmax weights (the
 * one the fused attention kernels use for e^(s − m)): relative error ≤ 1.2e-7 where e^x is a normal
 * float32, 0 for x < −87.68 and −∞, NaN for NaN, 1 for 0.
 */
export function expNonPositiveWasm(wasm: WasmKernelInstance, data: Float32Array): void {
  const at = wasm.base;
  if (!wasm.reserve(at + data.length * 4))
    throw new RangeError(`expNonPositiveWasm: cannot hold ${data.length} values in WebAssembly memory`);
  const heap = wasm.heap();
  heap.set(data, at >> 2);
  wasm.call('expNonPositiveInPlace', { data: at, length: data.length });
  data.set(heap.subarray(at >> 2, (at >> 2) + data.length));
}
