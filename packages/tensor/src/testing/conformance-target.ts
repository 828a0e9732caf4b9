// Test-only (exported from @heed/tensor/testing): what the conformance cases run on. A target is one way of computing
// heed's kernels — a CPU kernel set, or a device backend behind `DeviceStorage` — seen through one asynchronous
// interface on host arrays, so that every target runs the same cases (conformance-cases.ts) against the same naive
// float64 references. Shape letters: n slices, Lq queries, Lk keys, d features, dv value features.
import type { Tensor } from '../tensor';
import type { AttentionProblem } from '../kernels/attention';
import type { CloseOptions } from './expect-close';

/** Elementwise binary ops by name (as the device seam spells them). */
export type ConformanceBinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum';
/** Elementwise unary ops by name. */
export type ConformanceUnaryOp = 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'sqrt' | 'abs';

/** A target's tolerances against the naive float64 references, stated per path by the suite that runs it. */
export interface ConformanceTolerances {
  /** Attention output, log-sum-exp and weights. */
  forward: CloseOptions;
  /** Attention gradients, and everything compared through the ops with the JS set. */
  gradient: CloseOptions;
  /** Accumulates in float32 (WebAssembly, GPUs) rather than float64: large-logit cases take float32 bounds. */
  float32: boolean;
  /** Softmax and log-softmax kernels. */
  softmax: CloseOptions;
  /** Sum, max and min kernels. */
  reduce: CloseOptions;
  /** Binary elementwise kernels. */
  binary: CloseOptions;
  /** Unary elementwise kernels (exp, log, tanh, sigmoid, … of float32 inputs). */
  unary: CloseOptions;
}

/** The results of an attention backward: the gradients, and those of the learned variant parameters it has. */
export interface ConformanceAttentionGradients {
  dq: Float32Array; // like q
  dk: Float32Array; // like k
  dv: Float32Array; // like v
  positionBias: Float32Array | null; // [H, Lq + Lk − 1]
  sinks: Float32Array | null; // [H]
}

/** How ops are run on a target: `place` puts a CPU tensor where the target computes; `read` gives a tensor's values. */
export interface ConformanceOps {
  place(t: Tensor): Promise<Tensor>;
  read(t: Tensor): Promise<Float32Array>;
}

/**
 * One way of computing heed's kernels. Every method takes host arrays and resolves to new host arrays; a target
 * checks what only it can (a CPU kernel writes every output element and nothing outside; a device's storage
 * round-trips) and throws when that fails.
 */
export interface ConformanceTarget {
  readonly name: string;
  readonly tolerances: ConformanceTolerances;
  /** out [n, Lq, dv] (or sequence-first), lse [n, Lq]. */
  attentionForward(
    p: AttentionProblem,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
  ): Promise<{ out: Float32Array; lse: Float32Array }>;
  attentionBackward(
    p: AttentionProblem,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lse: Float32Array,
    dOut: Float32Array,
  ): Promise<ConformanceAttentionGradients>;
  /** The weights of query `rows`: [n, R, Lk]. */
  attentionWeights(p: AttentionProblem, q: Float32Array, k: Float32Array, lse: Float32Array, rows: Int32Array): Promise<Float32Array>;
  /** Their gradient given dWeights [n, R, Lk]: dq, dk and the variant parameters' gradients (dv stays empty). */
  attentionWeightsBackward(
    p: AttentionProblem,
    q: Float32Array,
    k: Float32Array,
    rows: Int32Array,
    weights: Float32Array,
    dWeights: Float32Array,
  ): Promise<Omit<ConformanceAttentionGradients, 'dv'>>;
  /** bias + op(A) · op(B) with A read from a[ao…], B from b[bo…]: [m, n]. */
  matmul(
    a: Float32Array,
    ao: number,
    b: Float32Array,
    bo: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
    bias?: Float32Array | null,
  ): Promise<Float32Array>;
  /** (log-)softmax along the middle axis of x viewed as [outer, n, inner]. */
  softmax(x: Float32Array, outer: number, n: number, inner: number, log: boolean): Promise<Float32Array>;
  /** [outer, inner] from x viewed as [outer, n, inner]. */
  reduceAxis(op: 'sum' | 'max' | 'min', x: Float32Array, outer: number, n: number, inner: number): Promise<Float32Array>;
  /** a (op) b over outShape, each read through its strides (0 where it broadcasts). */
  binary(
    op: ConformanceBinaryOp,
    a: Float32Array,
    aStrides: readonly number[],
    b: Float32Array,
    bStrides: readonly number[],
    outShape: readonly number[],
  ): Promise<Float32Array>;
  unary(op: ConformanceUnaryOp, x: Float32Array): Promise<Float32Array>;
  /** Runs `fn` with heed's ops computing on this target. */
  throughOps<T>(fn: (ops: ConformanceOps) => Promise<T>): Promise<T>;
}

/** One named case: runs on a target and throws (naming the case, the sizes and the worst element) when it fails. */
export interface ConformanceCase {
  /** The group it belongs to (attention, matmul, elementwise, ops). */
  readonly group: string;
  readonly name: string;
  run(target: ConformanceTarget): Promise<void>;
}

/** Throws `message` unless `condition`. */
export function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}
