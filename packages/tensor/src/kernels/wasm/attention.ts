import type { AttentionBackwardKernel, AttentionForwardKernel, AttentionProblem } from '../attention';
import { interleavedHeads } from '../attention-layout';
import { attentionBackwardJs, attentionForwardJs } from '../js/attention';
import { scoreVariantsOf, type ScoreVariants } from '../js/attention-variants';
import { invoke, wasmCall, type WasmArguments, type WasmCall } from './abi';
import { align64, layOut, type WasmKernelInstance } from './wasm-kernel-instance';

// The fused attention seam on WebAssembly SIMD. Shape letters as in `AttentionProblem`.

/** Below this many multiply-adds (n·Lq·Lk·(d + dv)) attention stays on one thread. */
const THREAD_MIN_MACS = 1 << 20;

type ProblemArguments = Omit<
  WasmArguments<'attentionForward'>,
  'q' | 'k' | 'v' | 'out' | 'logSumExp' | 'attentionMask' | 'variants' | 'work' | 'first' | 'step'
>;

/** Words of the variants header (assembly/attention-variants.ts). */
const VARIANT_HEADER_WORDS = 11;

/** Element counts of a problem's variant arrays, in the order `writeVariants` lays them out (0 for absent ones). */
function variantLengths(variants: ScoreVariants | null, threads: number): number[] {
  if (variants === null) return [0, 0, 0, 0, 0, 0, 0];
  const biasLength = variants.positionBias?.length ?? 0;
  return [
    VARIANT_HEADER_WORDS,
    variants.alibiSlopes?.length ?? 0,
    biasLength,
    variants.sinks?.length ?? 0,
    variants.querySegments?.length ?? 0,
    variants.keySegments?.length ?? 0,
    threads * biasLength, // the backward's position-bias gradients, one block per thread
  ];
}

/**
 * Writes the variants header and arrays at `at` (7 addresses from `layOut`, as `variantLengths` sized them);
 * returns the header's address, or 0 without variants. With `biasGradients` the gradient blocks are zeroed
 * and the header points at them.
 */
function writeVariants(wasm: WasmKernelInstance, variants: ScoreVariants | null, at: readonly number[], biasGradients: boolean): number {
  if (variants === null) return 0;
  const [header, alibi, bias, sinks, querySegments, keySegments, gradients] = at as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const heap = wasm.heap();
  const words = new Int32Array(heap.buffer, header, VARIANT_HEADER_WORDS);
  const put = (address: number, data: Float32Array | Int32Array | null) => {
    if (data === null) return 0;
    (data instanceof Int32Array
      ? new Int32Array(heap.buffer, address, data.length)
      : new Float32Array(heap.buffer, address, data.length)
    ).set(data);
    return address;
  };
  words.set([
    variants.heads,
    variants.queryLength,
    variants.keyLength,
    variants.queryPositionOffset,
    put(alibi, variants.alibiSlopes),
    put(bias, variants.positionBias),
    0,
    put(sinks, variants.sinks),
    put(querySegments, variants.querySegments),
    put(keySegments, variants.keySegments),
    biasGradients && variants.positionBias ? gradients : 0,
  ]);
  new Float32Array(heap.buffer, header + 24, 1)[0] = variants.softcap ?? 0;
  if (biasGradients && variants.positionBias) heap.fill(0, gradients >> 2, (gradients >> 2) + (at[7]! - gradients) / 4);
  return header;
}

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
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, attentionMask } = problem;
    const size = operandSizes(problem);
    const variants = scoreVariantsOf(problem);
    // q [n, Lq, d], k [nKv, Lk, d], v [nKv, Lk, dv], out [n, Lq, dv], logSumExp [n, Lq] (or [B, L, H, ·]: same sizes),
    // the attention mask as given (read through its strides), the variants, then one work area per thread
    const addresses = layOut(wasm.base, [
      size.q,
      size.k,
      size.v,
      size.out,
      size.lse,
      attentionMask?.length ?? 0,
      ...variantLengths(variants, 0),
    ]);
    const [qAt, kAt, vAt, outAt, lseAt, maskAt] = addresses as [number, number, number, number, number, number];
    const variantsAt = addresses.slice(6, 14);
    const workAt = addresses[13]!;
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
      variants: writeVariants(wasm, variants, variantsAt, false),
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
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dvSize, attentionMask } = problem;
    const size = operandSizes(problem);
    const { nKv } = size;
    const variants = scoreVariantsOf(problem);
    const threads = pool && n * Lq * Lk * (d + dvSize) >= THREAD_MIN_MACS ? Math.max(1, Math.min(pool.size, nKv)) : 1;
    // q, k, v, out, logSumExp, dOut [n, Lq, dv], dq [n, Lq, d], dk [nKv, Lk, d], dv [nKv, Lk, dv], the attention mask,
    // the variants (with one block of position-bias gradients per thread), work
    const lengths = [size.q, size.k, size.v, size.out, size.lse, size.out, size.q, size.k, size.v, attentionMask?.length ?? 0];
    const addresses = layOut(wasm.base, [...lengths, ...variantLengths(variants, threads)]);
    const [qAt, kAt, vAt, outAt, lseAt, dOutAt, dqAt, dkAt, dvAt, maskAt] = addresses as [
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
    const variantsAt = addresses.slice(10, 18);
    const workAt = addresses[17]!;
    const workBytes = align64(wasm.call('attentionBackwardWorkBytes', { keyLength: Lk, headDim: d, valueDim: dvSize }));
    if (!wasm.reserve(workAt + threads * workBytes)) {
      attentionBackwardJs(problem, q, k, v, out, logSumExp, dOut, dq, dk, dv, variantGradients);
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
    const biasGradients = variants?.positionBias != null && variantGradients?.positionBias != null;
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
      variants: writeVariants(wasm, variants, variantsAt, biasGradients),
    };
    const shares = Array.from({ length: threads }, (_, t) =>
      wasmCall('attentionBackward', { ...common, work: workAt + t * workBytes, first: t, step: threads }),
    );
    runShares(wasm, shares);
    const after = wasm.heap();
    dq.set(after.subarray(dqAt >> 2, (dqAt >> 2) + size.q));
    dk.set(after.subarray(dkAt >> 2, (dkAt >> 2) + size.k));
    dv.set(after.subarray(dvAt >> 2, (dvAt >> 2) + size.v));
    if (biasGradients) {
      // Σ over the threads' blocks of position-bias gradients.   [threads, H, Lq + Lk − 1] -> [H, Lq + Lk − 1]
      const target = variantGradients!.positionBias!;
      const length = target.length;
      const blocks = after.subarray(variantsAt[6]! >> 2, (variantsAt[6]! >> 2) + threads * length);
      for (let x = 0; x < length; x++) {
        let total = 0;
        for (let t = 0; t < threads; t++) total += blocks[t * length + x]!;
        target[x] = total;
      }
    }
    if (variants?.sinks && variantGradients?.sinks) sinkGradients(problem, variants, out, logSumExp, dOut, variantGradients.sinks);
  };
}

/**
 * d sinks_h = −Σ_{slices of head h, rows i} e^(sink_h − logSumExp_i) · (dOut_i · out_i), in float64 (the sink's
 * weight times its dS; the kernel's logSumExp includes the sink). Either layout.  -> [H]
 */
function sinkGradients(
  problem: AttentionProblem,
  variants: ScoreVariants,
  out: Float32Array,
  logSumExp: Float32Array,
  dOut: Float32Array,
  target: Float32Array,
): void {
  const { n, queryLength: Lq, valueDim: dv } = problem;
  const H = variants.heads;
  const sequenceFirst = problem.layout === 'sequence-first';
  const totals = new Float64Array(H);
  for (let s = 0; s < n; s++) {
    const [b, h] = [Math.floor(s / H), s % H];
    const sink = variants.sinks![h]!;
    for (let i = 0; i < Lq; i++) {
      const lse = logSumExp[s * Lq + i]!;
      if (lse === Infinity) continue; // +∞ scores: the sink has no weight
      const row = sequenceFirst ? ((b * Lq + i) * H + h) * dv : (s * Lq + i) * dv; // out_i, dOut_i
      let D = 0;
      for (let x = 0; x < dv; x++) D += dOut[row + x]! * out[row + x]!;
      totals[h]! -= Math.exp(sink - lse) * D;
    }
  }
  target.set(totals);
}
