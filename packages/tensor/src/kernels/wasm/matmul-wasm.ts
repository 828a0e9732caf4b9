import { matmulKernelJs, type MatmulKernel } from '../matmul';
import { align64, type WasmKernelInstance } from './wasm-kernel-instance';

/**
 * The matmul seam on the WebAssembly SIMD kernel: op(A) and op(B) are copied into the module's memory
 * as stored (packing reads them transposed or not), multiplied there with float32 accumulation
 * (register-blocked micro-kernel over packed panels), and out is copied back.
 * Falls back to the JS kernel only when the memory cannot grow to hold the operands.
 */
export function createMatmulKernelWasm(wasm: WasmKernelInstance): MatmulKernel {
  const { exports } = wasm;
  const workBytes = exports.matmulWorkBytes();
  return (a, aOffset, b, bOffset, out, outOffset, m, n, k, transposeA, transposeB) => {
    if (m === 0 || n === 0) return;
    const aSize = m * k;
    const bSize = k * n;
    const outSize = m * n;
    const aAt = wasm.base; //                         A [m, k] or stored [k, m]
    const bAt = align64(aAt + aSize * 4); //          B [k, n] or stored [n, k]
    const outAt = align64(bAt + bSize * 4); //        out [m, n]
    const workAt = align64(outAt + outSize * 4); //   packed panels
    if (!wasm.reserve(workAt + workBytes)) {
      matmulKernelJs(a, aOffset, b, bOffset, out, outOffset, m, n, k, transposeA, transposeB);
      return;
    }
    const heap = wasm.heap();
    heap.set(a.subarray(aOffset, aOffset + aSize), aAt >> 2);
    heap.set(b.subarray(bOffset, bOffset + bSize), bAt >> 2);
    exports.matmul(aAt, bAt, outAt, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0, workAt);
    out.set(heap.subarray(outAt >> 2, (outAt >> 2) + outSize), outOffset);
  };
}
