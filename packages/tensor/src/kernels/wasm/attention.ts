import type { AttentionBackwardKernel, AttentionForwardKernel, AttentionProblem } from '../attention';
import { interleavedHeads } from '../attention-layout';
import { attentionBackwardJs, attentionForwardJs } from '../js/attention';
import { scoreVariantsOf } from '../js/attention-variants';
import { invoke, wasmCall, type WasmArguments, type WasmCall } from './abi';
import { align64, layOut, type WasmKernelInstance } from './wasm-kernel-instance';

// The fused attention seam on WebAssembly SIMD. Shape letters as in `AttentionProblem`.

/** Below this many multiply-adds (n·Lq·Lk·(d + dv)) attention stays on one thread. */
const THREAD_MIN_MACS = 1 << 20;

type ProblemArguments = Omit<
  WasmArguments<'attentionForward'>,
  'q' | 'k' | 'v' | 'out' | 'logSumExp' | 'attentionMask' | 'work' | 'first' | 'step'
>;

/** The sizes, mask and layout of a problem as the module reads them. */
function problemArguments(problem: AttentionProblem): ProblemArguments {
  const { n, queryLength, keyLength, headDim, valueDim, scale, causalOffset, attentionMaskStrides, groupSize } = problem;
  const { queryHeads, keyHeads } = interleavedHeads(problem);
  return {
    n,
    queryLength,
    keyLength,
    headDim,
    valueDim,
    scale,
    groupSize,
    queryHeads,
    keyHeads,
    causal: causalOffset !== null,
    // Offsets past ±(Lq + Lk) mean all or nothing visible: clamped so i + offset stays a 32-bit integer.
    causalOffset: Math.max(-queryLength - 1, Math.min(keyLength, causalOffset ?? 0)),
    windowed: problem.windowStart != null,
    windowStart: Math.max(-queryLength, Math.min(keyLength, problem.windowStart ?? 0)),
    maskSliceStride: attentionMaskStrides[0],
    maskQueryStride: attentionMaskStrides[1],
    maskKeyStride: attentionMaskStrides[2],
  };
}

/** Element counts of the operands: q and dq, k and dk, v and dv, out and dOut, logSumExp (either layout). */
function operandSizes({ n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, groupSize }: AttentionProblem) {
  const nKv = n / groupSize;
  return { nKv, q: n * Lq * d, k: nKv * Lk * d, v: nKv * Lk * dv, out: n * Lq * dv, lse: n * Lq };
}

/** Runs one share per thread: on the pool when there is more than one, else here. */
function runShares(wasm: WasmKernelInstance, shares: readonly WasmCall[]): void {
  const run = (call: WasmCall) => void invoke(wasm.exports, call);
  if (shares.length === 1 || !wasm.pool) run(shares[0]!);
  else wasm.pool.run(shares, run);
}

/**
 * Forward: q, k, v (and the attention mask) are copied into the module's memory; per panel of query
 * rows and block of keys the scores come from the matmul micro-kernel, the online softmax uses a
 * vectorized e^x, and P·V is again the micro-kernel; out and logSumExp are copied back. Float32
 * throughout; either layout is read and written in place (strided rows). With a thread pool, thread t
 * of T takes the query panels t, t + T, … of every slice (interleaved, so causal work is balanced),
 * with its own work area. Falls back to the JS kernel only when the memory cannot grow to hold the operands.
 */
export function createAttentionForwardWasm(wasm: WasmKernelInstance): AttentionForwardKernel {
  const { pool, tileRows } = wasm;
  return (problem, q, k, v, out, logSumExp) => {
    if (scoreVariantsOf(problem) !== null) {
      attentionForwardJs(problem, q, k, v, out, logSumExp); // the variants run on the JS kernel
      return;
    }
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, attentionMask } = problem;
    const size = operandSizes(problem);
    // q [n, Lq, d], k [nKv, Lk, d], v [nKv, Lk, dv], out [n, Lq, dv], logSumExp [n, Lq] (or [B, L, H, ·]: same sizes),
    // the attention mask as given (read through its strides), then one work area per thread
    const [qAt, kAt, vAt, outAt, lseAt, maskAt, workAt] = layOut(wasm.base, [
      size.q,
      size.k,
      size.v,
      size.out,
      size.lse,
      attentionMask?.length ?? 0,
    ]) as [number, number, number, number, number, number, number];
    const workBytes = align64(wasm.call('attentionWorkBytes', { keyLength: Lk, headDim: d, valueDim: dv }));
    const panels = Math.ceil(Lq / tileRows);
    const threads = pool && n * Lq * Lk * (d + dv) >= THREAD_MIN_MACS ? Math.min(pool.size, panels) : 1;
    if (!wasm.reserve(workAt + threads * workBytes)) {
      attentionForwardJs(problem, q, k, v, out, logSumExp);
      return;
    }
    const heap = wasm.heap();
    heap.set(q.subarray(0, size.q), qAt >> 2);
    heap.set(k.subarray(0, size.k), kAt >> 2);
    heap.set(v.subarray(0, size.v), vAt >> 2);
    if (attentionMask) heap.set(attentionMask, maskAt >> 2);
    const common = {
      ...problemArguments(problem),
      q: qAt,
      k: kAt,
      v: vAt,
      out: outAt,
      logSumExp: lseAt,
      attentionMask: attentionMask ? maskAt : 0,
    };
    const shares = Array.from({ length: threads }, (_, t) =>
      wasmCall('attentionForward', { ...common, work: workAt + t * workBytes, first: t, step: threads }),
    );
    runShares(wasm, shares);
    const after = wasm.heap();
    out.set(after.subarray(outAt >> 2, (outAt >> 2) + size.out));
    logSumExp.set(after.subarray(lseAt >> 2, (lseAt >> 2) + size.lse));
  };
}

/**
 * Backward (FlashAttention-2): q, k, v, out, logSumExp, dOut (and the attention mask) are copied into
 * the module's memory; per k/v slice, block of query rows and block of keys the weights are recomputed
 * from logSumExp with a vectorized e^x, and the five products (S = Q Kᵀ, dP = dOut Vᵀ, dV += Pᵀ dOut,
 * dK += dSᵀ Q, dQ += dS K) run on the matmul micro-kernel; dq, dk, dv are copied back. Float32
 * throughout; either layout is read and written in place. With a thread pool, thread t of T takes the
 * k/v slices t, t + T, … with every query slice that reads them (so no two threads write the same
 * gradient), with its own work area: threads help when there are at least as many k/v slices as
 * threads. Falls back to the JS kernel only when the memory cannot grow.
 */
export function createAttentionBackwardWasm(wasm: WasmKernelInstance): AttentionBackwardKernel {
  const { pool } = wasm;
  return (problem, q, k, v, out, logSumExp, dOut, dq, dk, dv, variantGradients) => {
    if (scoreVariantsOf(problem) !== null) {
      attentionBackwardJs(problem, q, k, v, out, logSumExp, dOut, dq, dk, dv, variantGradients); // the variants run on the JS kernel
      return;
    }
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dvSize, attentionMask } = problem;
    const size = operandSizes(problem);
    const { nKv } = size;
    // q, k, v, out, logSumExp, dOut [n, Lq, dv], dq [n, Lq, d], dk [nKv, Lk, d], dv [nKv, Lk, dv], the attention mask, work
    const lengths = [size.q, size.k, size.v, size.out, size.lse, size.out, size.q, size.k, size.v, attentionMask?.length ?? 0];
    const [qAt, kAt, vAt, outAt, lseAt, dOutAt, dqAt, dkAt, dvAt, maskAt, workAt] = layOut(wasm.base, lengths) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const workBytes = align64(wasm.call('attentionBackwardWorkBytes', { keyLength: Lk, headDim: d, valueDim: dvSize }));
    const threads = pool && n * Lq * Lk * (d + dvSize) >= THREAD_MIN_MACS ? Math.max(1, Math.min(pool.size, nKv)) : 1;
    if (!wasm.reserve(workAt + threads * workBytes)) {
      attentionBackwardJs(problem, q, k, v, out, logSumExp, dOut, dq, dk, dv);
      return;
    }
    const heap = wasm.heap();
    heap.set(q.subarray(0, size.q), qAt >> 2);
    heap.set(k.subarray(0, size.k), kAt >> 2);
    heap.set(v.subarray(0, size.v), vAt >> 2);
    heap.set(out.subarray(0, size.out), outAt >> 2);
    heap.set(logSumExp.subarray(0, size.lse), lseAt >> 2);
    heap.set(dOut.subarray(0, size.out), dOutAt >> 2);
    if (attentionMask) heap.set(attentionMask, maskAt >> 2);
    const common = {
      ...problemArguments(problem),
      q: qAt,
      k: kAt,
      v: vAt,
      out: outAt,
      logSumExp: lseAt,
      dOut: dOutAt,
      dq: dqAt,
      dk: dkAt,
      dv: dvAt,
      attentionMask: attentionMask ? maskAt : 0,
    };
    const shares = Array.from({ length: threads }, (_, t) =>
      wasmCall('attentionBackward', { ...common, work: workAt + t * workBytes, first: t, step: threads }),
    );
    runShares(wasm, shares);
    const after = wasm.heap();
    dq.set(after.subarray(dqAt >> 2, (dqAt >> 2) + size.q));
    dk.set(after.subarray(dkAt >> 2, (dkAt >> 2) + size.k));
    dv.set(after.subarray(dvAt >> 2, (dvAt >> 2) + size.v));
  };
}
