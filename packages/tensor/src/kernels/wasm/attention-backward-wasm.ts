import type { AttentionBackwardKernel } from '../attention';
import { attentionBackwardJs } from '../attention-js';
import { interleavedHeads } from '../attention-layout';
import { align64, type WasmKernelInstance } from './wasm-kernel-instance';
import type { WasmJob } from './wasm-thread-pool';

/** Below this many multiply-adds (n·Lq·Lk·(d + dv)) the backward stays on one thread. */
const THREAD_MIN_MACS = 1 << 20;

/**
 * The fused attention backward seam on WebAssembly SIMD (FlashAttention-2): q, k, v, out, logSumExp,
 * dOut (and the keep mask) are copied into the module's memory; per k/v slice, block of query rows and
 * block of keys the weights are recomputed from logSumExp with a vectorized e^x, and the five products
 * (S = Q Kᵀ, dP = dOut Vᵀ, dV += Pᵀ dOut, dK += dSᵀ Q, dQ += dS K) run on the matmul micro-kernel;
 * dq, dk, dv are copied back. Float32 throughout; either layout is read and written in place. With a
 * thread pool, thread t of T takes the k/v slices t, t + T, … with every query slice that reads them
 * (so no two threads write the same gradient), with its own work area: threads help when there are at
 * least as many k/v slices as threads. Falls back to the JS kernel only when the memory cannot grow.
 */
export function createAttentionBackwardWasm(wasm: WasmKernelInstance): AttentionBackwardKernel {
  const { exports, pool } = wasm;
  return (problem, q, k, v, out, logSumExp, dOut, dq, dk, dv) => {
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dvSize, scale, causalOffset, keep, keepStrides, groupSize } = problem;
    const nKv = n / groupSize;
    const qSize = n * Lq * d;
    const kSize = nKv * Lk * d;
    const vSize = nKv * Lk * dvSize;
    const outSize = n * Lq * dvSize;
    const lseSize = n * Lq;
    const qAt = wasm.base; //                               q [n, Lq, d] (or [B, Lq, H, d]: same size, any layout)
    const kAt = align64(qAt + qSize * 4); //                 k [nKv, Lk, d]
    const vAt = align64(kAt + kSize * 4); //                 v [nKv, Lk, dv]
    const outAt = align64(vAt + vSize * 4); //               out [n, Lq, dv]
    const lseAt = align64(outAt + outSize * 4); //           logSumExp [n, Lq]
    const dOutAt = align64(lseAt + lseSize * 4); //          dOut [n, Lq, dv]
    const dqAt = align64(dOutAt + outSize * 4); //           dq [n, Lq, d]
    const dkAt = align64(dqAt + qSize * 4); //               dk [nKv, Lk, d]
    const dvAt = align64(dkAt + kSize * 4); //               dv [nKv, Lk, dv]
    const keepAt = align64(dvAt + vSize * 4); //             keep (as given; read through its strides)
    const workAt = align64(keepAt + (keep ? keep.length * 4 : 0)); // one work area per thread
    const workBytes = align64(exports.attentionBackwardWorkBytes(Lk, d, dvSize));
    const threads = pool && n * Lq * Lk * (d + dvSize) >= THREAD_MIN_MACS ? Math.max(1, Math.min(pool.size, nKv)) : 1;
    if (!wasm.reserve(workAt + threads * workBytes)) {
      attentionBackwardJs(problem, q, k, v, out, logSumExp, dOut, dq, dk, dv);
      return;
    }
    const heap = wasm.heap();
    heap.set(q.subarray(0, qSize), qAt >> 2);
    heap.set(k.subarray(0, kSize), kAt >> 2);
    heap.set(v.subarray(0, vSize), vAt >> 2);
    heap.set(out.subarray(0, outSize), outAt >> 2);
    heap.set(logSumExp.subarray(0, lseSize), lseAt >> 2);
    heap.set(dOut.subarray(0, outSize), dOutAt >> 2);
    if (keep) heap.set(keep, keepAt >> 2);
    // Offsets past ±(Lq + Lk) mean all or nothing visible: clamped so i + offset stays a 32-bit integer.
    const offset = Math.max(-Lq - 1, Math.min(Lk, causalOffset ?? 0));
    const { queryHeads, keyHeads } = interleavedHeads(problem);
    const shares: WasmJob[] = [];
    for (let t = 0; t < threads; t++) {
      const args = [qAt, kAt, vAt, outAt, lseAt, dOutAt, dqAt, dkAt, dvAt, keep ? keepAt : 0, n, Lq, Lk, d, dvSize, scale, causalOffset === null ? 0 : 1, offset];
      shares.push({ kind: 3, args: [...args, keepStrides[0], keepStrides[1], keepStrides[2], groupSize, queryHeads, keyHeads, workAt + t * workBytes, t, threads] });
    }
    const run = (job: WasmJob) => (exports.attentionBackward as (...args: readonly number[]) => void)(...job.args);
    if (threads === 1 || !pool) run(shares[0]!);
    else pool.run(shares, run);
    const after = wasm.heap();
    dq.set(after.subarray(dqAt >> 2, (dqAt >> 2) + qSize));
    dk.set(after.subarray(dkAt >> 2, (dkAt >> 2) + kSize));
    dv.set(after.subarray(dvAt >> 2, (dvAt >> 2) + vSize));
  };
}
