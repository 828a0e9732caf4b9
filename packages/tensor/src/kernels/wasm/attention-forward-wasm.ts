import type { AttentionForwardKernel } from '../attention';
import { attentionForwardJs } from '../attention-js';
import { align64, type WasmKernelInstance } from './wasm-kernel-instance';

/**
 * The fused attention forward seam on WebAssembly SIMD: q, k, v (and the keep mask) are copied into
 * the module's memory; per panel of query rows and block of keys the scores come from the matmul
 * micro-kernel, the online softmax uses a vectorized e^x, and P·V is again the micro-kernel; out and
 * logSumExp are copied back. Float32 throughout. Falls back to the JS kernel only when the memory
 * cannot grow to hold the operands.
 */
export function createAttentionForwardWasm(wasm: WasmKernelInstance): AttentionForwardKernel {
  const { exports } = wasm;
  return (problem, q, k, v, out, logSumExp) => {
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, scale, causalOffset, keep, keepStrides, groupSize } = problem;
    const nKv = n / groupSize;
    const qSize = n * Lq * d;
    const kSize = nKv * Lk * d;
    const vSize = nKv * Lk * dv;
    const outSize = n * Lq * dv;
    const lseSize = n * Lq;
    const qAt = wasm.base; //                               q [n, Lq, d]
    const kAt = align64(qAt + qSize * 4); //                 k [nKv, Lk, d]
    const vAt = align64(kAt + kSize * 4); //                 v [nKv, Lk, dv]
    const outAt = align64(vAt + vSize * 4); //               out [n, Lq, dv]
    const lseAt = align64(outAt + outSize * 4); //           logSumExp [n, Lq]
    const keepAt = align64(lseAt + lseSize * 4); //          keep (as given; read through its strides)
    const workAt = align64(keepAt + (keep ? keep.length * 4 : 0));
    if (!wasm.reserve(workAt + exports.attentionWorkBytes(Lk, d, dv))) {
      attentionForwardJs(problem, q, k, v, out, logSumExp);
      return;
    }
    const heap = wasm.heap();
    heap.set(q.subarray(0, qSize), qAt >> 2);
    heap.set(k.subarray(0, kSize), kAt >> 2);
    heap.set(v.subarray(0, vSize), vAt >> 2);
    if (keep) heap.set(keep, keepAt >> 2);
    exports.attentionForward(
      qAt, kAt, vAt, outAt, lseAt, keep ? keepAt : 0,
      // Offsets past ±(Lq + Lk) mean all or nothing visible: clamped so i + offset stays a 32-bit integer.
      n, Lq, Lk, d, dv, scale, causalOffset === null ? 0 : 1, Math.max(-Lq - 1, Math.min(Lk, causalOffset ?? 0)),
      keepStrides[0], keepStrides[1], keepStrides[2], groupSize, workAt,
    );
    out.set(heap.subarray(outAt >> 2, (outAt >> 2) + outSize));
    logSumExp.set(heap.subarray(lseAt >> 2, (lseAt >> 2) + lseSize));
  };
}
