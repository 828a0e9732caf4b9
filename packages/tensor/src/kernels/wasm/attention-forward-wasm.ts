import type { AttentionForwardKernel } from '../attention';
import { attentionForwardJs } from '../attention-js';
import { interleavedHeads } from '../attention-layout';
import { align64, type WasmKernelInstance } from './wasm-kernel-instance';
import type { WasmJob } from './wasm-thread-pool';

/** Below this many multiply-adds (n·Lq·Lk·(d + dv)) attention stays on one thread. */
const THREAD_MIN_MACS = 1 << 20;

/**
 * The fused attention forward seam on WebAssembly SIMD: q, k, v (and the keep mask) are copied into
 * the module's memory; per panel of query rows and block of keys the scores come from the matmul
 * micro-kernel, the online softmax uses a vectorized e^x, and P·V is again the micro-kernel; out and
 * logSumExp are copied back. Float32 throughout; either layout is read and written in place (strided
 * rows). With a thread pool, thread t of T takes the query panels t, t + T, … of every slice
 * (interleaved, so causal work is balanced), with its own work area.
 * Falls back to the JS kernel only when the memory cannot grow to hold the operands.
 */
export function createAttentionForwardWasm(wasm: WasmKernelInstance): AttentionForwardKernel {
  const { exports, pool, tileRows } = wasm;
  return (problem, q, k, v, out, logSumExp) => {
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, scale, causalOffset, keep, keepStrides, groupSize } = problem;
    const nKv = n / groupSize;
    const qSize = n * Lq * d;
    const kSize = nKv * Lk * d;
    const vSize = nKv * Lk * dv;
    const outSize = n * Lq * dv;
    const lseSize = n * Lq;
    const qAt = wasm.base; //                               q [n, Lq, d] (or [B, Lq, H, d]: same size, any layout)
    const kAt = align64(qAt + qSize * 4); //                 k [nKv, Lk, d]
    const vAt = align64(kAt + kSize * 4); //                 v [nKv, Lk, dv]
    const outAt = align64(vAt + vSize * 4); //               out [n, Lq, dv]
    const lseAt = align64(outAt + outSize * 4); //           logSumExp [n, Lq]
    const keepAt = align64(lseAt + lseSize * 4); //          keep (as given; read through its strides)
    const workAt = align64(keepAt + (keep ? keep.length * 4 : 0)); // one work area per thread
    const workBytes = align64(exports.attentionWorkBytes(Lk, d, dv));
    const panels = Math.ceil(Lq / tileRows);
    const threads = pool && n * Lq * Lk * (d + dv) >= THREAD_MIN_MACS ? Math.min(pool.size, panels) : 1;
    if (!wasm.reserve(workAt + threads * workBytes)) {
      attentionForwardJs(problem, q, k, v, out, logSumExp);
      return;
    }
    const heap = wasm.heap();
    heap.set(q.subarray(0, qSize), qAt >> 2);
    heap.set(k.subarray(0, kSize), kAt >> 2);
    heap.set(v.subarray(0, vSize), vAt >> 2);
    if (keep) heap.set(keep, keepAt >> 2);
    // Offsets past ±(Lq + Lk) mean all or nothing visible: clamped so i + offset stays a 32-bit integer.
    const offset = Math.max(-Lq - 1, Math.min(Lk, causalOffset ?? 0));
    const { queryHeads, keyHeads } = interleavedHeads(problem);
    const shares: WasmJob[] = [];
    for (let t = 0; t < threads; t++) {
      const args = [qAt, kAt, vAt, outAt, lseAt, keep ? keepAt : 0, n, Lq, Lk, d, dv, scale, causalOffset === null ? 0 : 1, offset];
      shares.push({ kind: 2, args: [...args, keepStrides[0], keepStrides[1], keepStrides[2], groupSize, queryHeads, keyHeads, workAt + t * workBytes, t, threads] });
    }
    const run = (job: WasmJob) => (exports.attentionForward as (...args: readonly number[]) => void)(...job.args);
    if (threads === 1 || !pool) run(shares[0]!);
    else pool.run(shares, run);
    const after = wasm.heap();
    out.set(after.subarray(outAt >> 2, (outAt >> 2) + outSize));
    logSumExp.set(after.subarray(lseAt >> 2, (lseAt >> 2) + lseSize));
  };
}
