import {
  ArgumentError,
  type DeviceAdamStep,
  type DeviceAttentionProblem,
  type DeviceBackend,
  type DeviceBinaryOp,
  type DeviceMatmulProblem,
  type DeviceReduceOp,
  type DeviceSgdStep,
  type DeviceStorage,
  type DeviceUnaryOp,
  ShapeError,
  type StridedOperand,
} from '@heed/tensor';
import { BufferPool } from './buffer-pool';
import { fusedAttention } from './fused-attention';
import { GpuStorage } from './gpu-storage';
import { WebGpuError } from './webgpu-error';
import {
  binaryShader,
  COPY_SHADER,
  ELEMENTWISE_WORKGROUP,
  FILL_SHADER,
  MAX_RANK,
  unaryShader,
  WHERE_SHADER,
  WRITE_BLOCKS_SHADER,
} from './shaders/elementwise-shaders';
import { GATHER_SHADER, groupByPosition, SCATTER_ADD_SHADER } from './shaders/gather-shaders';
import { ENTMAX_BACKWARD_SHADER, ENTMAX_SHADER } from './shaders/entmax-shaders';
import { MATMUL_SHADER, MATMUL_TILE } from './shaders/matmul-shader';
import { ONE_HOT_ARGMAX_SHADER } from './shaders/one-hot-argmax-shader';
import { ADAM_SHADER, SGD_SHADER } from './shaders/optimizer-shaders';
import { REDUCE_WORKGROUP, reduceLongShader, reduceRowsShader, SOFTMAX_SHADER } from './shaders/reduce-shaders';
import {
  ROW_ATTENTION_DKV_SHADER,
  ROW_ATTENTION_DQ_SHADER,
  ROW_ATTENTION_FORWARD_SHADER,
  ROW_ATTENTION_STATS_SHADER,
  ROW_ATTENTION_WEIGHTS_SHADER,
  ROW_WEIGHTS_DK_SHADER,
  ROW_WEIGHTS_DQ_SHADER,
  ROW_WEIGHTS_STATS_SHADER,
  ROW_WORKGROUP,
} from './shaders/row-attention-shaders';

/** Most workgroups along one dispatch dimension (WebGPU's guaranteed limit). */
const MAX_GROUPS = 65535;

/** Fused attention on the backend's storage (the `AttentionProblem` contract, with its mask on the device). */
export interface GpuAttentionKernels {
  forward(problem: DeviceAttentionProblem, q: GpuStorage, k: GpuStorage, v: GpuStorage): { output: GpuStorage; logSumExp: GpuStorage };
  backward(
    problem: DeviceAttentionProblem,
    q: GpuStorage,
    k: GpuStorage,
    v: GpuStorage,
    output: GpuStorage,
    logSumExp: GpuStorage,
    dOutput: GpuStorage,
  ): { dq: GpuStorage; dk: GpuStorage; dv: GpuStorage; positionBias?: GpuStorage | null; sinks?: GpuStorage | null };
  /** Weights of the chosen rows [n, R, Lk] (heads-first). */
  weights(problem: DeviceAttentionProblem, q: GpuStorage, k: GpuStorage, logSumExp: GpuStorage, rows: Int32Array): GpuStorage;
  /** Their gradient: new dq, dk. */
  weightsBackward(
    problem: DeviceAttentionProblem,
    q: GpuStorage,
    k: GpuStorage,
    rows: Int32Array,
    weights: GpuStorage,
    dWeights: GpuStorage,
  ): { dq: GpuStorage; dk: GpuStorage; positionBias?: GpuStorage | null; sinks?: GpuStorage | null };
}

/**
 * The `DeviceBackend` of `@heed/tensor` on a WebGPU device: tensors are GPU buffers (pooled, returned to the pool
 * when their tensor is garbage collected), and every op is a WGSL compute dispatch, queued in order. Only
 * `read` waits for the GPU.
 */
export class WebGpuBackend implements DeviceBackend {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  /** The score variants the tiled attention kernels read, learned ones included (the row kernels read none). */
  get attentionVariants(): readonly string[] {
    return this.attention === this.rowAttention ? [] : ['alibiSlopes', 'positionBias', 'softcap', 'sinks', 'querySegments'];
  }
  /** Fused attention: the tiled kernels of ./attention (see fused-attention.ts), or any other set. */
  attention: GpuAttentionKernels;
  /** The row kernels: one invocation per query (or key) row, every head size, the reference of the tiled ones. */
  readonly rowAttention: GpuAttentionKernels;
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #collected: FinalizationRegistry<GPUBuffer>;
  #empty: GpuStorage | null = null;
  /** Errors the device reported since the last read (surfaced by the next `read`). */
  readonly #errors: string[] = [];

  constructor(
    device: GPUDevice,
    /** The device name tensors on it carry. */
    readonly name = 'webgpu',
  ) {
    if (typeof device !== 'object' || device === null || typeof device.createComputePipeline !== 'function') {
      throw new ArgumentError(`device must be a GPUDevice (from requestGpuDevice()), got ${String(device)}`, {
        op: 'WebGpuBackend',
        argument: 'device',
      });
    }
    this.device = device;
    this.pool = new BufferPool(device);
    this.#collected = new FinalizationRegistry((buffer) => this.pool.release(buffer));
    device.addEventListener('uncapturederror', (event) => this.#errors.push((event as GPUUncapturedErrorEvent).error.message));
    this.rowAttention = {
      forward: (...a) => this.#rowAttentionForward(...a),
      backward: (...a) => this.#rowAttentionBackward(...a),
      weights: (...a) => this.#rowAttentionWeights(...a),
      weightsBackward: (...a) => this.#rowAttentionWeightsBackward(...a),
    };
    this.attention = fusedAttention(this);
  }

  // ---- storage ------------------------------------------------------------------------------------------

  /** New storage of `size` floats (its buffer goes back to the pool when the storage is collected). */
  allocate(size: number): GpuStorage {
    const buffer = this.pool.acquire(size * 4);
    const storage = new GpuStorage(this.name, buffer, size);
    this.#collected.register(storage, buffer, storage);
    return storage;
  }

  release(storage: DeviceStorage): void {
    const s = this.#own(storage);
    if (this.#collected.unregister(s)) this.pool.release(s.buffer);
  }

  upload(data: Float32Array): GpuStorage {
    const storage = this.allocate(data.length);
    if (data.length > 0) this.device.queue.writeBuffer(storage.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return storage;
  }

  async read(storage: DeviceStorage): Promise<Float32Array> {
    const s = this.#own(storage);
    if (s.size === 0) return new Float32Array(0);
    const bytes = s.size * 4;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const values = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    if (this.#errors.length > 0) {
      const message = this.#errors.splice(0).join('\n');
      throw new WebGpuError(`the GPU refused work queued before this read: ${message}`, { op: 'read', argument: 'storage' });
    }
    return values;
  }

  fill(size: number, value: number): GpuStorage {
    const out = this.allocate(size);
    const bits = new Uint32Array(new Float32Array([value]).buffer)[0]!;
    this.#dispatch('fill', FILL_SHADER, [out], [size, bits], this.#elementGroups(size));
    return out;
  }

  // ---- elementwise and layout ---------------------------------------------------------------------------

  copy(x: StridedOperand, shape: readonly number[]): GpuStorage {
    const size = sizeOf(shape);
    const out = this.allocate(size);
    if (size === 0) return out;
    const { shape: dims, strides } = collapse(shape, [x.strides], 'copy');
    const p = [size, dims.length, x.offset, 0, ...padded(dims), ...padded(strides[0]!)];
    this.#dispatch('copy', COPY_SHADER, [this.#own(x.storage), out], p, this.#elementGroups(size));
    return out;
  }

  writeBlocks(
    source: DeviceStorage,
    target: DeviceStorage,
    outer: number,
    width: number,
    targetStride: number,
    targetOffset: number,
  ): void {
    const count = outer * width;
    if (count === 0) return;
    this.#dispatch(
      'writeBlocks',
      WRITE_BLOCKS_SHADER,
      [this.#own(source), this.#own(target)],
      [count, width, targetStride, targetOffset],
      this.#elementGroups(count),
    );
  }

  binary(op: DeviceBinaryOp, a: StridedOperand, b: StridedOperand, shape: readonly number[]): GpuStorage {
    const size = sizeOf(shape);
    const out = this.allocate(size);
    if (size === 0) return out;
    const { shape: dims, strides } = collapse(shape, [a.strides, b.strides], op);
    const p = [size, dims.length, a.offset, b.offset, ...padded(dims), ...padded(strides[0]!), ...padded(strides[1]!)];
    this.#dispatch(`binary:${op}`, binaryShader(op), [this.#own(a.storage), this.#own(b.storage), out], p, this.#elementGroups(size));
    return out;
  }

  where(condition: StridedOperand, a: StridedOperand, b: StridedOperand, shape: readonly number[]): GpuStorage {
    const size = sizeOf(shape);
    const out = this.allocate(size);
    if (size === 0) return out;
    const { shape: dims, strides } = collapse(shape, [condition.strides, a.strides, b.strides], 'where');
    const p = [size, dims.length, condition.offset, a.offset, b.offset, ...padded(dims), ...strides.flatMap((s) => padded(s))];
    const buffers = [this.#own(condition.storage), this.#own(a.storage), this.#own(b.storage), out];
    this.#dispatch('where', WHERE_SHADER, buffers, p, this.#elementGroups(size));
    return out;
  }

  unary(op: DeviceUnaryOp, x: DeviceStorage): GpuStorage {
    const out = this.allocate(x.size);
    if (x.size === 0) return out;
    this.#dispatch(`unary:${op}`, unaryShader(op), [this.#own(x), out], [x.size], this.#elementGroups(x.size));
    return out;
  }

  gather(x: DeviceStorage, source: Int32Array): GpuStorage {
    const out = this.allocate(source.length);
    if (source.length === 0) return out;
    const positions = this.#uploadIndices(source);
    this.#dispatch('gather', GATHER_SHADER, [this.#own(x), positions, out], [source.length], this.#elementGroups(source.length));
    this.release(positions);
    return out;
  }

  scatterAdd(g: DeviceStorage, source: Int32Array, size: number): GpuStorage {
    const out = this.allocate(size);
    if (size === 0) return out;
    const { starts, order } = groupByPosition(source, size);
    const [startsBuffer, orderBuffer] = [this.#uploadIndices(starts), this.#uploadIndices(order)];
    this.#dispatch('scatterAdd', SCATTER_ADD_SHADER, [this.#own(g), startsBuffer, orderBuffer, out], [size], this.#elementGroups(size));
    this.release(startsBuffer);
    this.release(orderBuffer);
    return out;
  }

  /** Integers to storage, bit for bit (the kernels read them as u32; an empty list gets one element). */
  #uploadIndices(values: Int32Array | Uint32Array): GpuStorage {
    return this.upload(values.length === 0 ? new Float32Array(1) : new Float32Array(values.buffer, values.byteOffset, values.length));
  }

  // ---- reductions and softmax ---------------------------------------------------------------------------

  reduceAxis(op: DeviceReduceOp, x: DeviceStorage, outer: number, n: number, inner: number): GpuStorage {
    const count = outer * inner;
    const out = this.allocate(count);
    if (count === 0) return out;
    // Long rows get a workgroup each (a tree in workgroup memory); short ones an invocation each.
    if (n >= REDUCE_WORKGROUP) {
      this.#dispatch(`reduceLong:${op}`, reduceLongShader(op), [this.#own(x), out], [count, n, inner], groups2d(count));
    } else {
      this.#dispatch(`reduceRows:${op}`, reduceRowsShader(op), [this.#own(x), out], [count, n, inner], this.#elementGroups(count));
    }
    return out;
  }

  softmax(x: DeviceStorage, outer: number, n: number, inner: number, log: boolean): GpuStorage {
    const out = this.allocate(x.size);
    const rows = outer * inner;
    if (rows === 0 || n === 0) return out;
    this.#dispatch('softmax', SOFTMAX_SHADER, [this.#own(x), out], [rows, n, inner, log ? 1 : 0], groups2d(rows));
    return out;
  }

  // ---- sparse normalizers and hard attention (see shaders/entmax-shaders.ts, shaders/one-hot-argmax-shader.ts) --

  entmax(x: DeviceStorage, rows: number, n: number, alpha: number): { output: GpuStorage; secant: GpuStorage } {
    const output = this.allocate(rows * n);
    const secant = this.allocate(rows * n);
    if (rows * n === 0) return { output, secant };
    const mode = alpha === 2 ? 2 : alpha === 1.5 ? 1 : 0;
    const p = [rows, n, mode, ...[alpha - 1, 1 / (alpha - 1), (2 - alpha) / (alpha - 1)].map(f32Bits)];
    this.#dispatch('entmax', ENTMAX_SHADER, [this.#own(x), output, secant], p, groups2d(rows));
    return { output, secant };
  }

  entmaxBackward(secant: DeviceStorage, g: DeviceStorage, rows: number, n: number): GpuStorage {
    const dz = this.allocate(rows * n);
    if (rows * n === 0) return dz;
    this.#dispatch('entmaxBackward', ENTMAX_BACKWARD_SHADER, [this.#own(secant), this.#own(g), dz], [rows, n], groups2d(rows));
    return dz;
  }

  oneHotArgmax(x: DeviceStorage, rows: number, n: number): GpuStorage {
    const out = this.allocate(rows * n);
    if (rows * n === 0) return out;
    this.#dispatch('oneHotArgmax', ONE_HOT_ARGMAX_SHADER, [this.#own(x), out], [rows, n], groups2d(rows));
    return out;
  }

  // ---- matrix product -----------------------------------------------------------------------------------

  matmul(a: DeviceStorage, b: DeviceStorage, problem: DeviceMatmulProblem): GpuStorage {
    const { m, n, k, transposeA, transposeB, aOffsets, bOffsets } = problem;
    const count = aOffsets.length;
    const out = this.allocate(count * m * n);
    if (count * m * n === 0) return out;
    if (k === 0) {
      // An empty sum: zeros.
      this.#dispatch('fill', FILL_SHADER, [out], [count * m * n, 0], this.#elementGroups(count * m * n));
      return out;
    }
    const offsets = new Uint32Array(2 * count);
    for (let t = 0; t < count; t++) {
      offsets[2 * t] = aOffsets[t]!;
      offsets[2 * t + 1] = bOffsets[t]!;
    }
    const offsetBuffer = this.upload(new Float32Array(offsets.buffer));
    for (let first = 0; first < count; first += MAX_GROUPS) {
      const products = Math.min(MAX_GROUPS, count - first);
      const groups: [number, number, number] = [Math.ceil(n / MATMUL_TILE), Math.ceil(m / MATMUL_TILE), products];
      this.#dispatch(
        'matmul',
        MATMUL_SHADER,
        [this.#own(a), this.#own(b), out, offsetBuffer],
        [m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0, first],
        groups,
      );
    }
    return out;
  }

  // ---- attention ----------------------------------------------------------------------------------------

  attentionForward(problem: DeviceAttentionProblem, q: DeviceStorage, k: DeviceStorage, v: DeviceStorage) {
    return this.attention.forward(problem, this.#own(q), this.#own(k), this.#own(v));
  }

  attentionBackward(
    problem: DeviceAttentionProblem,
    q: DeviceStorage,
    k: DeviceStorage,
    v: DeviceStorage,
    output: DeviceStorage,
    logSumExp: DeviceStorage,
    dOutput: DeviceStorage,
  ) {
    const own = (s: DeviceStorage) => this.#own(s);
    return this.attention.backward(problem, own(q), own(k), own(v), own(output), own(logSumExp), own(dOutput));
  }

  /** The row kernels' parameters (see row-attention-shaders.ts). */
  #attentionParams(problem: DeviceAttentionProblem): number[] {
    const { n, queryLength, keyLength, headDim, valueDim, scale, causalOffset, attentionMask, attentionMaskStrides, groupSize } = problem;
    const windowStart = problem.windowStart ?? null;
    const sequenceFirst = problem.layout === 'sequence-first';
    return [
      n,
      queryLength,
      keyLength,
      headDim,
      valueDim,
      f32Bits(scale),
      causalOffset === null ? 0 : 1,
      i32Bits(causalOffset ?? 0),
      windowStart === null ? 0 : 1,
      i32Bits(windowStart ?? 0),
      attentionMask === null ? 0 : 1,
      ...attentionMaskStrides,
      groupSize,
      sequenceFirst ? 1 : 0,
      sequenceFirst ? (problem.heads ?? 1) : 1,
    ];
  }

  /** The mask the row kernels read; without one, a spare buffer they never read. */
  #keep(problem: DeviceAttentionProblem): GpuStorage {
    return problem.attentionMask !== null ? this.#own(problem.attentionMask) : this.#spare();
  }

  /** A one-element buffer bound where a kernel's binding is present but unused. */
  #spare(): GpuStorage {
    if (this.#empty === null) this.#empty = this.upload(new Float32Array(1));
    return this.#empty;
  }

  #rowAttentionForward(problem: DeviceAttentionProblem, q: GpuStorage, k: GpuStorage, v: GpuStorage) {
    const rows = problem.n * problem.queryLength;
    const output = this.allocate(rows * problem.valueDim);
    const logSumExp = this.allocate(rows);
    if (rows > 0) {
      const p = this.#attentionParams(problem);
      this.#dispatch(
        'rowAttentionForward',
        ROW_ATTENTION_FORWARD_SHADER,
        [q, k, v, this.#keep(problem), output, logSumExp],
        p,
        groups2d(Math.ceil(rows / ROW_WORKGROUP)),
      );
    }
    return { output, logSumExp };
  }

  #rowAttentionBackward(
    problem: DeviceAttentionProblem,
    q: GpuStorage,
    k: GpuStorage,
    v: GpuStorage,
    output: GpuStorage,
    logSumExp: GpuStorage,
    dOutput: GpuStorage,
  ) {
    const { n, queryLength, keyLength, headDim, valueDim, groupSize } = problem;
    const rows = n * queryLength;
    const keyRows = (n / groupSize) * keyLength;
    const dq = this.allocate(rows * headDim);
    const dk = this.allocate(keyRows * headDim);
    const dv = this.allocate(keyRows * valueDim);
    if (rows === 0 || keyRows === 0) return { dq, dk, dv };
    const p = this.#attentionParams(problem);
    const keep = this.#keep(problem);
    const stats = this.allocate(2 * rows); // [rows, 2]: logSumExp, Σ dOut ⊙ out
    const rowGroups = groups2d(Math.ceil(rows / ROW_WORKGROUP));
    const keyGroups = groups2d(Math.ceil(keyRows / ROW_WORKGROUP));
    this.#dispatch('rowAttentionStats', ROW_ATTENTION_STATS_SHADER, [output, dOutput, logSumExp, stats], p, rowGroups);
    this.#dispatch('rowAttentionDq', ROW_ATTENTION_DQ_SHADER, [q, k, v, keep, stats, dOutput, dq], p, rowGroups);
    this.#dispatch('rowAttentionDkv', ROW_ATTENTION_DKV_SHADER, [q, k, v, keep, stats, dOutput, dk], [...p, 0], keyGroups);
    this.#dispatch('rowAttentionDkv', ROW_ATTENTION_DKV_SHADER, [q, k, v, keep, stats, dOutput, dv], [...p, 1], keyGroups);
    return { dq, dk, dv };
  }

  attentionWeights(
    problem: DeviceAttentionProblem,
    q: DeviceStorage,
    k: DeviceStorage,
    logSumExp: DeviceStorage,
    rows: Int32Array,
  ): GpuStorage {
    return this.attention.weights(problem, this.#own(q), this.#own(k), this.#own(logSumExp), rows);
  }

  attentionWeightsBackward(
    problem: DeviceAttentionProblem,
    q: DeviceStorage,
    k: DeviceStorage,
    rows: Int32Array,
    weights: DeviceStorage,
    dWeights: DeviceStorage,
  ) {
    const own = (s: DeviceStorage) => this.#own(s);
    return this.attention.weightsBackward(problem, own(q), own(k), rows, own(weights), own(dWeights));
  }

  #rowAttentionWeights(problem: DeviceAttentionProblem, q: GpuStorage, k: GpuStorage, logSumExp: GpuStorage, rows: Int32Array): GpuStorage {
    const chosen = problem.n * rows.length;
    const out = this.allocate(chosen * problem.keyLength); // [n, R, Lk]
    if (chosen === 0 || problem.keyLength === 0) return out;
    const p = [...this.#attentionParams(problem), rows.length];
    const rowBuffer = this.upload(new Float32Array(rows.buffer, rows.byteOffset, rows.length));
    const buffers = [q, k, this.#keep(problem), logSumExp, rowBuffer, out];
    this.#dispatch('rowAttentionWeights', ROW_ATTENTION_WEIGHTS_SHADER, buffers, p, groups2d(Math.ceil(chosen / ROW_WORKGROUP)));
    return out;
  }

  #rowAttentionWeightsBackward(
    problem: DeviceAttentionProblem,
    q: GpuStorage,
    k: GpuStorage,
    rows: Int32Array,
    w: GpuStorage,
    g: GpuStorage,
  ): { dq: GpuStorage; dk: GpuStorage } {
    const { n, queryLength, keyLength, headDim, groupSize } = problem;
    const dq = this.allocate(n * queryLength * headDim);
    const dk = this.allocate((n / groupSize) * keyLength * headDim);
    const p = [...this.#attentionParams(problem), rows.length];
    const stats = this.allocate(n * rows.length); // [n, R]: Σ_j G ⊙ P
    const rowBuffer = this.upload(new Float32Array(rows.buffer, rows.byteOffset, rows.length));
    if (n * rows.length > 0) {
      this.#dispatch('rowWeightsStats', ROW_WEIGHTS_STATS_SHADER, [w, g, stats], p, groups2d(Math.ceil((n * rows.length) / ROW_WORKGROUP)));
    }
    const queryGroups = groups2d(Math.ceil((n * queryLength) / ROW_WORKGROUP));
    const keyGroups = groups2d(Math.ceil(((n / groupSize) * keyLength) / ROW_WORKGROUP));
    this.#dispatch('rowWeightsDq', ROW_WEIGHTS_DQ_SHADER, [k, w, g, stats, rowBuffer, dq], p, queryGroups);
    this.#dispatch('rowWeightsDk', ROW_WEIGHTS_DK_SHADER, [q, w, g, stats, rowBuffer, dk], p, keyGroups);
    return { dq, dk };
  }

  // ---- optimizers ---------------------------------------------------------------------------------------

  adamStep(theta: DeviceStorage, grad: DeviceStorage, m: DeviceStorage, v: DeviceStorage, step: DeviceAdamStep): void {
    const size = theta.size;
    if (size === 0) return;
    const p = [
      size,
      step.decoupledWeightDecay ? 1 : 0,
      ...[step.lr, step.beta1, step.beta2, step.eps, step.weightDecay, step.c1, step.c2].map(f32Bits),
    ];
    this.#dispatch('adam', ADAM_SHADER, [this.#own(theta), this.#own(grad), this.#own(m), this.#own(v)], p, this.#elementGroups(size));
  }

  sgdStep(theta: DeviceStorage, grad: DeviceStorage, buffer: DeviceStorage | null, step: DeviceSgdStep): void {
    const size = theta.size;
    if (size === 0) return;
    const p = [
      size,
      buffer === null ? 0 : 1,
      step.first ? 1 : 0,
      step.nesterov ? 1 : 0,
      ...[step.lr, step.momentum, step.dampening, step.weightDecay].map(f32Bits),
    ];
    // Without momentum the kernel never touches its buffer binding: a spare one-element buffer stands in.
    const bufferStorage = buffer === null ? this.#spare() : this.#own(buffer);
    this.#dispatch('sgd', SGD_SHADER, [this.#own(theta), this.#own(grad), bufferStorage], p, this.#elementGroups(size));
  }

  /** Frees the pooled buffers (tensors still alive keep theirs). */
  dispose(): void {
    this.pool.clear();
    this.#pipelines.clear();
  }

  // ---- dispatch -----------------------------------------------------------------------------------------

  #own(storage: DeviceStorage): GpuStorage {
    if (!(storage instanceof GpuStorage) || storage.device !== this.name) {
      throw new ArgumentError(`storage of device '${storage.device}' passed to the '${this.name}' backend`, {
        op: this.name,
        argument: 'storage',
      });
    }
    return storage;
  }

  #pipeline(key: string, code: string): GPUComputePipeline {
    let pipeline = this.#pipelines.get(key);
    if (pipeline === undefined) {
      const module = this.device.createShaderModule({ label: key, code });
      pipeline = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.#pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  #elementGroups(size: number): [number, number, number] {
    return groups2d(Math.ceil(size / ELEMENTWISE_WORKGROUP));
  }

  /** One compute pass: `buffers` bound at 0, 1, … and the parameters `p` (u32s) after them; submitted at once. */
  #dispatch(
    key: string,
    code: string,
    buffers: readonly GpuStorage[],
    p: readonly number[],
    groups: readonly [number, number, number],
  ): void {
    const pipeline = this.#pipeline(key, code);
    const params = this.pool.acquire(p.length * 4);
    this.device.queue.writeBuffer(
      params,
      0,
      Uint32Array.from(p, (x) => x >>> 0),
    );
    const entries: GPUBindGroupEntry[] = buffers.map((s, binding) => ({ binding, resource: { buffer: s.buffer } }));
    entries.push({ binding: buffers.length, resource: { buffer: params } });
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    // Work queued later (a writeBuffer to a reused buffer included) runs after this submission.
    this.pool.release(params);
  }
}

function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Workgroups for `count` groups laid out in 2-D (x ≤ 65535). */
function groups2d(count: number): [number, number, number] {
  if (count <= MAX_GROUPS) return [Math.max(count, 1), 1, 1];
  return [MAX_GROUPS, Math.ceil(count / MAX_GROUPS), 1];
}

function padded(values: readonly number[]): number[] {
  return [...values, ...new Array<number>(MAX_RANK - values.length).fill(0)];
}

/**
 * The shape with axes merged where every operand reads them as one (stride of the outer = size × stride of the
 * inner) and size-1 axes dropped: the same reads over fewer axes. A ShapeError when more than 8 remain.
 */
function collapse(shape: readonly number[], strides: readonly (readonly number[])[], op: string): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, i) => s[d]! * size === outStrides[i]![last])) {
      outShape[last] = outShape[last]! * size;
      strides.forEach((s, i) => (outStrides[i]![last] = s[d]!));
    } else {
      outShape.push(size);
      strides.forEach((s, i) => outStrides[i]!.push(s[d]!));
    }
  }
  if (outShape.length > MAX_RANK) {
    throw new ShapeError(`reads ${outShape.length} separate axes; the WebGPU kernels read at most ${MAX_RANK}`, {
      op,
      argument: 'shape',
      shapes: { shape },
    });
  }
  return { shape: outShape, strides: outStrides };
}

function f32Bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0]!;
}

function i32Bits(x: number): number {
  return x >>> 0;
}
