import type { AttentionProblem } from '../kernels/attention';

// The device seam. A tensor's values live either in a Float32Array (the CPU: read synchronously, every op runs
// the kernels of `getKernels()` on it, unchanged) or in a `DeviceStorage` that a registered `DeviceBackend`
// owns (e.g. a GPUBuffer). Ops look at `tensor.device` once per call: 'cpu' takes the existing path, any other
// name dispatches to that backend's methods below, which take and return storages — the data never leaves the
// device between ops. Reading device data is an explicit `await t.read()`; moving is `await toDevice(t, name)`.

/** Values of one tensor on a device: opaque to `@heed/tensor`, owned by the backend named `device`. */
export interface DeviceStorage {
  /** The backend's name ('webgpu'). */
  readonly device: string;
  /** Number of float32 elements. */
  readonly size: number;
}

/** An operand read through strides: element `[i0, i1, …]` of the output shape reads `storage[offset + Σ i_d · strides[d]]`. */
export interface StridedOperand {
  readonly storage: DeviceStorage;
  readonly offset: number;
  /** One per output axis; 0 where the operand broadcasts. */
  readonly strides: readonly number[];
}

/** Elementwise binary ops on a device ('equal' is 1 where a = b, else 0). */
export type DeviceBinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'equal';

/** Elementwise unary ops on a device ('step' is 1 where x > 0, else 0; 'sign' is sign(x); 'finite' is 0 where x = −∞, else 1). */
export type DeviceUnaryOp = 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'sqrt' | 'abs' | 'step' | 'sign' | 'finite';

/** Reductions along one axis on a device. */
export type DeviceReduceOp = 'sum' | 'max' | 'min';

/** A batched matrix product: `count` products out[t] = op(A at aOffsets[t]) · op(B at bOffsets[t]), out [count, m, n]. */
export interface DeviceMatmulProblem {
  m: number;
  n: number;
  k: number;
  transposeA: boolean;
  transposeB: boolean;
  /** Element offsets of each product's A and B (broadcast batch dims repeat an offset). */
  aOffsets: Uint32Array;
  bOffsets: Uint32Array;
}

/**
 * `AttentionProblem` with its mask on the device (1 = may attend, read through `attentionMaskStrides`) and its learned
 * variant parameters on the device: positionBias [H, Lq + Lk − 1], sinks [H].
 */
export type DeviceAttentionProblem = Omit<AttentionProblem, 'attentionMask' | 'positionBias' | 'sinks'> & {
  attentionMask: DeviceStorage | null;
  positionBias?: DeviceStorage | null;
  sinks?: DeviceStorage | null;
};

/** The gradients of the learned variant parameters, where the problem has them: positionBias [H, Lq + Lk − 1], sinks [H]. */
export interface DeviceVariantGradients {
  positionBias?: DeviceStorage | null;
  sinks?: DeviceStorage | null;
}

/** Adam's update of one parameter, in place (θ, m, v), with the bias corrections c1 = 1 − β₁ᵗ, c2 = 1 − β₂ᵗ. */
export interface DeviceAdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupledWeightDecay: boolean;
  c1: number;
  c2: number;
}

/** SGD's update of one parameter, in place (θ and the momentum buffer); `first`: the buffer is set to g. */
export interface DeviceSgdStep {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  first: boolean;
}

/**
 * What a device implements so that tensors stay on it between ops. Every method returns new storage
 * (except the `…Step`s and `writeBlocks`, which update storage in place, in order with the other work);
 * every input storage is left unchanged. Semantics, edge cases included, are those of the CPU kernels of the same name
 * (`BinaryKernel`, `UnaryKernel`, `ReduceKernel`, `SoftmaxKernel`, `MatmulKernel`, the attention kernels).
 */
export interface DeviceBackend {
  /** The device name tensors carry (`t.device`); not 'cpu'. */
  readonly name: string;
  /**
   * The score variants of `AttentionProblem` its attention kernels read ('alibiSlopes', 'softcap', 'querySegments',
   * and the learned 'positionBias' and 'sinks', whose gradients the backwards return); a call with any other variant
   * is refused with a DeviceError. Absent: none.
   */
  readonly attentionVariants?: readonly string[];
  /** Copies host values to new storage on the device. */
  upload(data: Float32Array): DeviceStorage;
  /** The values of `storage` as a new Float32Array (resolves once the work queued before it is done). */
  read(storage: DeviceStorage): Promise<Float32Array>;
  /** `size` copies of `value`. */
  fill(size: number, value: number): DeviceStorage;
  /** A strided read into a new contiguous tensor of `shape` (permute, broadcast, slice). */
  copy(x: StridedOperand, shape: readonly number[]): DeviceStorage;
  /** target[targetOffset + o·targetStride + j] = source[o·width + j] for o < outer, j < width (in place; concat, slice's gradient). */
  writeBlocks(source: DeviceStorage, target: DeviceStorage, outer: number, width: number, targetStride: number, targetOffset: number): void;
  /** out = a (op) b over `shape`. */
  binary(op: DeviceBinaryOp, a: StridedOperand, b: StridedOperand, shape: readonly number[]): DeviceStorage;
  /** out = condition ≠ 0 ? a : b over `shape`. */
  where(condition: StridedOperand, a: StridedOperand, b: StridedOperand, shape: readonly number[]): DeviceStorage;
  /** out[i] = op(x[i]). */
  unary(op: DeviceUnaryOp, x: DeviceStorage): DeviceStorage;
  /** out[o, i] = reduce_j x[o, j, i] over x viewed as [outer, n, inner]. */
  reduceAxis(op: DeviceReduceOp, x: DeviceStorage, outer: number, n: number, inner: number): DeviceStorage;
  /** (log-)softmax along the middle axis of x viewed as [outer, n, inner]. */
  softmax(x: DeviceStorage, outer: number, n: number, inner: number, log: boolean): DeviceStorage;
  /** out [count, m, n]. */
  matmul(a: DeviceStorage, b: DeviceStorage, problem: DeviceMatmulProblem): DeviceStorage;
  /** Fused attention forward: out [n, Lq, dv] (or sequence-first), logSumExp [n, Lq]. */
  attentionForward(
    problem: DeviceAttentionProblem,
    q: DeviceStorage,
    k: DeviceStorage,
    v: DeviceStorage,
  ): { output: DeviceStorage; logSumExp: DeviceStorage };
  /** Fused attention backward: dq, dk, dv in the layouts of q, k, v, and the variant parameters' gradients. */
  attentionBackward(
    problem: DeviceAttentionProblem,
    q: DeviceStorage,
    k: DeviceStorage,
    v: DeviceStorage,
    output: DeviceStorage,
    logSumExp: DeviceStorage,
    dOutput: DeviceStorage,
  ): { dq: DeviceStorage; dk: DeviceStorage; dv: DeviceStorage } & DeviceVariantGradients;
  /** Exact attention weights of query `rows` (heads-first), as `AttentionWeightsKernel`: [n, R, Lk]. */
  attentionWeights(
    problem: DeviceAttentionProblem,
    q: DeviceStorage,
    k: DeviceStorage,
    logSumExp: DeviceStorage,
    rows: Int32Array,
  ): DeviceStorage;
  /**
   * Their gradient as a softmax of complete rows, as `AttentionWeightsBackwardKernel`: dq, dk and the variant
   * parameters' gradients (not accumulated into: new storage).
   */
  attentionWeightsBackward(
    problem: DeviceAttentionProblem,
    q: DeviceStorage,
    k: DeviceStorage,
    rows: Int32Array,
    weights: DeviceStorage,
    dWeights: DeviceStorage,
  ): { dq: DeviceStorage; dk: DeviceStorage } & DeviceVariantGradients;
  /** out[i] = x[source[i]] (gather, embedding: flat positions in x, computed on the host). Absent: those ops refuse the device. */
  gather?(x: DeviceStorage, source: Int32Array): DeviceStorage;
  /** Their gradient: out[j] = Σ g[i] over the i with source[i] = j, in increasing i (as the CPU), `size` elements. */
  scatterAdd?(g: DeviceStorage, source: Int32Array, size: number): DeviceStorage;
  /**
   * α-entmax (α > 1; 2 is sparsemax, 1.5 entmax15) along the last axis of x viewed as [rows, n], as the CPU's: −∞ entries
   * get 0, a row of only −∞ is all 0, a row with k entries of +∞ gives 1/k on them. Returns p and s = p^{2−α} on the
   * support (0 off it), which the backward reads. Absent: sparsemax and the entmaxes refuse the device.
   */
  entmax?(x: DeviceStorage, rows: number, n: number, alpha: number): { output: DeviceStorage; secant: DeviceStorage };
  /** Its gradient, per row: dz = s ⊙ g − s (sᵀg) / Σs (a row with Σs = 0 gets 0). */
  entmaxBackward?(secant: DeviceStorage, g: DeviceStorage, rows: number, n: number): DeviceStorage;
  /** one_hot(argmax x) along the last axis of x viewed as [rows, n]: the first maximum wins, −∞ is never picked, a row of only −∞ is 0. */
  oneHotArgmax?(x: DeviceStorage, rows: number, n: number): DeviceStorage;
  /** One Adam step of θ with gradient g, moments m and v (θ, m, v updated in place). */
  adamStep(theta: DeviceStorage, grad: DeviceStorage, m: DeviceStorage, v: DeviceStorage, step: DeviceAdamStep): void;
  /** One SGD step of θ with gradient g and momentum buffer (null without momentum), in place. */
  sgdStep(theta: DeviceStorage, grad: DeviceStorage, buffer: DeviceStorage | null, step: DeviceSgdStep): void;
  /** Gives the storage back (its memory may be reused at once); optional: storages are also reclaimed when collected. */
  release?(storage: DeviceStorage): void;
}
