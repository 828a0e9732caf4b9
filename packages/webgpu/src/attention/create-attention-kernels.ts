import { ArgumentError, type AttentionProblem, ConfigError, ShapeError } from '@heed/tensor';
import {
  attentionKeyGradientsWgsl,
  attentionPositionBiasGradientWgsl,
  attentionQueryGradientsWgsl,
  attentionRowStatisticsWgsl,
  attentionSinksGradientWgsl,
  ROW_THREADS,
} from './attention-backward-wgsl';
import { type AttentionShaderConfig, attentionForwardWgsl } from './attention-forward-wgsl';
import { type PackedProblem, type ProblemOverrides, packProblem, withOverrides } from './attention-uniforms';
import {
  attentionWeightsKeyGradientWgsl,
  attentionWeightsPositionBiasGradientWgsl,
  attentionWeightsQueryGradientWgsl,
  attentionWeightsRowDotWgsl,
  attentionWeightsSinksGradientWgsl,
  attentionWeightsWgsl,
} from './attention-weights-wgsl';

// The fused attention kernels of the AttentionProblem contract (@heed/tensor kernels/attention.ts) on GPUBuffers.
// Shape letters: n slices (batch·heads), nKv = n / groupSize, Lq queries, Lk keys, d query/key features,
// dv value features, H query heads, R chosen rows. Buffers hold float32 values in the problem's layout.

/** The largest headDim and valueDim the kernels take (they keep a row of each in registers). */
export const MAX_ATTENTION_HEAD_DIM = 256;

/** At most this many rows (or keys) per tile: one invocation each. */
const MAX_TILE = 32;

/** Inputs and outputs of the forward. */
export interface AttentionForwardBuffers extends AttentionVariantBuffers {
  /** [n, Lq, d] (or [B, Lq, H, d] sequence-first) */
  q: GPUBuffer;
  /** [nKv, Lk, d] */
  k: GPUBuffer;
  /** [nKv, Lk, dv] */
  v: GPUBuffer;
  /** Written: [n, Lq, dv] */
  out: GPUBuffer;
  /** Written: [n, Lq] */
  logSumExp: GPUBuffer;
  /**
   * The attention mask on the GPU, read through `problem.attentionMaskStrides` (then `problem.attentionMask` may be
   * null); without it a non-null `problem.attentionMask` is uploaded for the call.
   */
  attentionMask?: GPUBuffer | null;
}

/**
 * The learned variant parameters already on the GPU (e.g. a module's parameters after `toDevice`), read in place of
 * the problem's host arrays: the kernels copy them into their per-call parameter words before the pass.
 */
export interface AttentionVariantBuffers {
  /** [H, Lq + Lk − 1], in place of `problem.positionBias` */
  positionBias?: GPUBuffer | null;
  /** [H], in place of `problem.sinks` */
  sinks?: GPUBuffer | null;
}

/** Inputs and outputs of the backward. */
export interface AttentionBackwardBuffers extends AttentionVariantBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** The forward's out [n, Lq, dv] */
  out: GPUBuffer;
  /** The forward's logSumExp [n, Lq] */
  logSumExp: GPUBuffer;
  /** [n, Lq, dv] */
  dOut: GPUBuffer;
  /** Written (overwritten): [n, Lq, d] */
  dq: GPUBuffer;
  /** Written (overwritten): [nKv, Lk, d] */
  dk: GPUBuffer;
  /** Written (overwritten): [nKv, Lk, dv] */
  dv: GPUBuffer;
  attentionMask?: GPUBuffer | null;
  /** Written (overwritten) where given and the problem has `positionBias`: [H, Lq + Lk − 1] */
  positionBiasGradient?: GPUBuffer | null;
  /** Written (overwritten) where given and the problem has `sinks`: [H] */
  sinksGradient?: GPUBuffer | null;
}

/** Inputs and output of the weights of chosen rows (heads-first or sequence-first q and k). */
export interface AttentionWeightsBuffers extends AttentionVariantBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  logSumExp: GPUBuffer;
  /** Written (overwritten): [n, R, Lk] */
  weights: GPUBuffer;
  attentionMask?: GPUBuffer | null;
}

/** Inputs and outputs of the weights' gradient. */
export interface AttentionWeightsBackwardBuffers extends AttentionVariantBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  /** [n, R, Lk] */
  weights: GPUBuffer;
  /** [n, R, Lk] */
  dWeights: GPUBuffer;
  /** Accumulated into: [n, Lq, d] */
  dq: GPUBuffer;
  /** Accumulated into: [nKv, Lk, d] */
  dk: GPUBuffer;
  /** Accumulated into where given and the problem has `positionBias`: [H, Lq + Lk − 1] */
  positionBiasGradient?: GPUBuffer | null;
  /** Accumulated into where given and the problem has `sinks`: [H] */
  sinksGradient?: GPUBuffer | null;
}

/** Where a call records its work. */
export interface AttentionEncodeOptions {
  /**
   * Record the passes into this encoder instead of submitting them: the call then returns the temporary buffers
   * it made (uniforms, uploads, scratch), which the caller destroys once the encoder is submitted. Without it
   * the call submits at once, destroys its temporaries and returns [].
   */
  encoder?: GPUCommandEncoder;
}

/** The fused attention kernels on one device (pipelines compiled on first use per (kernel, d, dv), then cached). */
export interface AttentionKernels {
  readonly device: GPUDevice;
  /** out = softmax(scores) v and logSumExp per row, never storing the Lq×Lk matrix. */
  forward(problem: AttentionProblem, buffers: AttentionForwardBuffers, options?: AttentionEncodeOptions): GPUBuffer[];
  /** dq, dk, dv (and the variant parameters' gradients) from dOut and the forward's out and logSumExp. */
  backward(problem: AttentionProblem, buffers: AttentionBackwardBuffers, options?: AttentionEncodeOptions): GPUBuffer[];
  /** The exact weights of the chosen query rows [R] (indices into Lq), rebuilt from logSumExp. */
  weights(problem: AttentionProblem, rows: Int32Array, buffers: AttentionWeightsBuffers, options?: AttentionEncodeOptions): GPUBuffer[];
  /** The gradient of those weights, accumulated into dq and dk. */
  weightsBackward(
    problem: AttentionProblem,
    rows: Int32Array,
    buffers: AttentionWeightsBackwardBuffers,
    options?: AttentionEncodeOptions,
  ): GPUBuffer[];
}

type KernelName =
  | 'forward'
  | 'rowStatistics'
  | 'keyGradients'
  | 'queryGradients'
  | 'positionBiasGradient'
  | 'sinksGradient'
  | 'weights'
  | 'weightsRowDot'
  | 'weightsQueryGradient'
  | 'weightsKeyGradient'
  | 'weightsPositionBiasGradient'
  | 'weightsSinksGradient';

const shaders: Record<KernelName, (config: AttentionShaderConfig) => string> = {
  forward: attentionForwardWgsl,
  rowStatistics: attentionRowStatisticsWgsl,
  keyGradients: attentionKeyGradientsWgsl,
  queryGradients: attentionQueryGradientsWgsl,
  positionBiasGradient: attentionPositionBiasGradientWgsl,
  sinksGradient: attentionSinksGradientWgsl,
  weights: attentionWeightsWgsl,
  weightsRowDot: attentionWeightsRowDotWgsl,
  weightsQueryGradient: attentionWeightsQueryGradientWgsl,
  weightsKeyGradient: attentionWeightsKeyGradientWgsl,
  weightsPositionBiasGradient: attentionWeightsPositionBiasGradientWgsl,
  weightsSinksGradient: attentionWeightsSinksGradientWgsl,
};

/** One call's buffers by binding number (binding 0, the uniforms, is added by `dispatch`). */
type Bindings = Record<number, GPUBuffer>;

/**
 * The attention kernels on `device`. Each call checks the problem and the buffers' sizes (a HeedError names
 * what is wrong, before anything is recorded), packs the dynamic sizes into a uniform buffer and dispatches
 * the kernels generated for its (d, dv).
 *
 * ```ts no-run
 * const kernels = createAttentionKernels(device);
 * kernels.forward(problem, { q, k, v, out, logSumExp }); // submitted; read out with mapAsync
 * ```
 */
export function createAttentionKernels(device: GPUDevice): AttentionKernels {
  const pipelines = new Map<string, GPUComputePipeline>();
  const workgroupFloats = Math.floor(device.limits.maxComputeWorkgroupStorageSize / 4);
  let emptyBuffer: GPUBuffer | null = null;

  /**
   * Tiles of the kernels that walk key tiles (forward, dQ): T query rows (one per invocation) with their rows of
   * q, acc / dOut, dq and scores, and T keys of K and V, all in workgroup memory: T·(2d + 2dv + T) floats and the padding of odd strides.
   */
  const configOf = (problem: AttentionProblem): AttentionShaderConfig => {
    const [d, dv] = [capacityOf(problem.headDim), capacityOf(problem.valueDim)];
    const tile = largestTile((t) => t * (2 * d + 2 * dv + t + 3)); // + 3: the odd strides
    return { headDim: d, valueDim: dv, queryTile: tile, keyTile: tile };
  };

  /** Tiles of the dQ kernel: as the forward's, with rows of q, dOut and dq: T·(3d + 2dv) floats and padding. */
  const queryConfigOf = (problem: AttentionProblem): AttentionShaderConfig => {
    const [d, dv] = [capacityOf(problem.headDim), capacityOf(problem.valueDim)];
    const tile = largestTile((t) => t * (3 * d + 2 * dv + 3));
    return { headDim: d, valueDim: dv, queryTile: tile, keyTile: tile };
  };

  /** Tiles of the dK/dV kernel: T keys (one per invocation) with k, v, dk, dv rows, and T rows of q, dOut and 3 statistics. */
  const keyConfigOf = (problem: AttentionProblem): AttentionShaderConfig => {
    const [d, dv] = [capacityOf(problem.headDim), capacityOf(problem.valueDim)];
    const tile = largestTile((t) => t * (3 * d + 3 * dv + 7));
    return { headDim: d, valueDim: dv, queryTile: tile, keyTile: tile };
  };

  /** The largest tile (at most MAX_TILE) whose workgroup memory, in floats, fits the device. */
  const largestTile = (floatsOf: (tile: number) => number): number => {
    let tile = MAX_TILE;
    while (tile > 1 && floatsOf(tile) > workgroupFloats) tile--;
    return tile;
  };

  const pipelineOf = (name: KernelName, config: AttentionShaderConfig): GPUComputePipeline => {
    // Kernels whose WGSL takes no configuration (no workgroup arrays sized by d) have one pipeline.
    const key = shaders[name].length === 0 ? name : `${name}:${config.headDim}:${config.valueDim}:${config.queryTile}:${config.keyTile}`;
    let pipeline = pipelines.get(key);
    if (pipeline === undefined) {
      const module = device.createShaderModule({ label: `heed attention ${key}`, code: shaders[name](config) });
      pipeline = device.createComputePipeline({ label: `heed attention ${key}`, layout: 'auto', compute: { module, entryPoint: 'main' } });
      pipelines.set(key, pipeline);
    }
    return pipeline;
  };

  const storageOf = (data: ArrayBufferView, temporaries: GPUBuffer[], usage = GPUBufferUsage.STORAGE): GPUBuffer => {
    const buffer = device.createBuffer({
      size: Math.max(4, align4(data.byteLength)),
      usage,
      mappedAtCreation: true,
    });
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
    temporaries.push(buffer);
    return buffer;
  };

  const uniformOf = (data: ArrayBuffer, temporaries: GPUBuffer[]): GPUBuffer => {
    const buffer = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data));
    buffer.unmap();
    temporaries.push(buffer);
    return buffer;
  };

  /** The mask buffer of a call: the caller's, an upload of problem.attentionMask, or a placeholder. */
  const maskOf = (problem: AttentionProblem, given: GPUBuffer | null | undefined, temporaries: GPUBuffer[]): GPUBuffer => {
    if (given) return given;
    if (problem.attentionMask !== null) return storageOf(problem.attentionMask, temporaries);
    emptyBuffer ??= device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE });
    return emptyBuffer;
  };

  /** Records one kernel over `workgroups` workgroups (a 2D grid where one side would pass 65535). */
  const dispatch = (
    pass: GPUComputePassEncoder,
    name: KernelName,
    config: AttentionShaderConfig,
    packed: PackedProblem,
    overrides: ProblemOverrides,
    workgroups: number,
    bindings: Bindings,
    temporaries: GPUBuffer[],
  ): void => {
    if (workgroups === 0) return;
    const pipeline = pipelineOf(name, config);
    const uniforms = uniformOf(withOverrides(packed.uniforms, { ...overrides, workgroups }), temporaries);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniforms } }];
    for (const [binding, buffer] of Object.entries(bindings)) entries.push({ binding: Number(binding), resource: { buffer } });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    const side = Math.min(workgroups, 65535);
    pass.dispatchWorkgroups(side, Math.ceil(workgroups / side));
  };

  /**
   * Runs `record` in one compute pass, in the caller's encoder or a submitted one of its own, with the call's extras
   * uploaded: the packed words, then the variant parameters given as buffers copied over their place on the GPU.
   */
  const run = (
    options: AttentionEncodeOptions | undefined,
    packed: PackedProblem,
    variants: AttentionVariantBuffers,
    record: (pass: GPUComputePassEncoder, extras: GPUBuffer, temporaries: GPUBuffer[]) => void,
  ): GPUBuffer[] => {
    const temporaries: GPUBuffer[] = [];
    const encoder = options?.encoder ?? device.createCommandEncoder({ label: 'heed attention' });
    const extras = storageOf(packed.extras, temporaries, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    for (const name of ['positionBias', 'sinks'] as const) {
      const [buffer, place] = [variants[name], packed.variantsAt[name]];
      if (buffer && place !== undefined) encoder.copyBufferToBuffer(buffer, 0, extras, place.at * 4, place.length * 4);
    }
    const pass = encoder.beginComputePass();
    record(pass, extras, temporaries);
    pass.end();
    if (options?.encoder) return temporaries;
    device.queue.submit([encoder.finish()]);
    for (const buffer of temporaries) buffer.destroy(); // freed once the submitted work is done
    return [];
  };

  return {
    device,

    forward(given, buffers, options) {
      const op = 'attentionForward';
      checkProblem(op, given);
      const problem = withVariantBuffers(op, given, buffers);
      const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv } = problem;
      const nKv = n / problem.groupSize;
      checkBuffers(op, {
        q: [buffers.q, n * Lq * d],
        k: [buffers.k, nKv * Lk * d],
        v: [buffers.v, nKv * Lk * dv],
        out: [buffers.out, n * Lq * dv],
        logSumExp: [buffers.logSumExp, n * Lq],
      });
      checkMask(op, problem, buffers.attentionMask);
      if (n * Lq === 0) return [];
      const config = configOf(problem);
      const packed = packProblem(problem, null, 0, !!buffers.attentionMask);
      return run(options, packed, buffers, (pass, extras, temporaries) => {
        const tiles = Math.ceil(Lq / config.queryTile);
        const mask = maskOf(problem, buffers.attentionMask, temporaries);
        const { q, k, v, out, logSumExp } = buffers;
        dispatch(
          pass,
          'forward',
          config,
          packed,
          { tiles },
          n * tiles,
          { 1: q, 2: k, 3: v, 4: mask, 5: extras, 6: out, 7: logSumExp },
          temporaries,
        );
      });
    },

    backward(given, buffers, options) {
      const op = 'attentionBackward';
      checkProblem(op, given);
      const problem = withVariantBuffers(op, given, buffers);
      const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv } = problem;
      const H = problem.heads ?? 1;
      const nKv = n / problem.groupSize;
      checkBuffers(op, {
        q: [buffers.q, n * Lq * d],
        k: [buffers.k, nKv * Lk * d],
        v: [buffers.v, nKv * Lk * dv],
        out: [buffers.out, n * Lq * dv],
        logSumExp: [buffers.logSumExp, n * Lq],
        dOut: [buffers.dOut, n * Lq * dv],
        dq: [buffers.dq, n * Lq * d],
        dk: [buffers.dk, nKv * Lk * d],
        dv: [buffers.dv, nKv * Lk * dv],
      });
      checkMask(op, problem, buffers.attentionMask);
      const { positionBiasGradient, sinksGradient } = variantGradientsOf(op, problem, buffers);
      if (n * (Lq + Lk) === 0) return [];
      const config = configOf(problem);
      const packed = packProblem(problem, null, 3 * n * Lq, !!buffers.attentionMask);
      return run(options, packed, buffers, (pass, extras, temporaries) => {
        const mask = maskOf(problem, buffers.attentionMask, temporaries);
        const { q, k, v, out, logSumExp, dOut, dq, dk, dv: dvBuffer } = buffers;
        // 1. m, l, D per query row.
        dispatch(
          pass,
          'rowStatistics',
          config,
          packed,
          {},
          Math.ceil((n * Lq) / ROW_THREADS),
          { 1: q, 2: k, 3: mask, 4: out, 5: dOut, 6: logSumExp, 7: extras },
          temporaries,
        );
        // 2. dK, dV per key tile (writes every key, zeros where no query sees it).
        const keyConfig = keyConfigOf(problem);
        const keyTiles = Math.ceil(Lk / keyConfig.keyTile);
        dispatch(
          pass,
          'keyGradients',
          keyConfig,
          packed,
          { tiles: keyTiles },
          nKv * keyTiles,
          { 1: q, 2: k, 3: v, 4: mask, 5: dOut, 6: extras, 7: dk, 8: dvBuffer },
          temporaries,
        );
        // 3. dQ per query tile.
        const queryConfig = queryConfigOf(problem);
        const queryTiles = Math.ceil(Lq / queryConfig.queryTile);
        dispatch(
          pass,
          'queryGradients',
          queryConfig,
          packed,
          { tiles: queryTiles },
          n * queryTiles,
          { 1: q, 2: k, 3: v, 4: mask, 5: dOut, 6: extras, 7: dq },
          temporaries,
        );
        // 4. The variant parameters' gradients.
        if (positionBiasGradient !== null) {
          const threads = H * (Lq + Lk - 1);
          dispatch(
            pass,
            'positionBiasGradient',
            config,
            packed,
            { threads },
            Math.ceil(threads / ROW_THREADS),
            { 1: q, 2: k, 3: v, 4: mask, 5: dOut, 6: extras, 7: positionBiasGradient },
            temporaries,
          );
        }
        if (sinksGradient !== null) {
          dispatch(pass, 'sinksGradient', config, packed, {}, Math.ceil(H / ROW_THREADS), { 2: extras, 3: sinksGradient }, temporaries);
        }
      });
    },

    weights(given, rows, buffers, options) {
      const op = 'attentionWeights';
      checkProblem(op, given);
      const problem = withVariantBuffers(op, given, buffers);
      checkRows(op, problem, rows);
      const { n, queryLength: Lq, keyLength: Lk, headDim: d } = problem;
      const R = rows.length;
      const nKv = n / problem.groupSize;
      checkBuffers(op, {
        q: [buffers.q, n * Lq * d],
        k: [buffers.k, nKv * Lk * d],
        logSumExp: [buffers.logSumExp, n * Lq],
        weights: [buffers.weights, n * R * Lk],
      });
      checkMask(op, problem, buffers.attentionMask);
      if (n * R * Lk === 0) return [];
      const config = configOf(problem);
      const packed = packProblem(problem, rows, 0, !!buffers.attentionMask);
      return run(options, packed, buffers, (pass, extras, temporaries) => {
        const mask = maskOf(problem, buffers.attentionMask, temporaries);
        const { q, k, logSumExp, weights } = buffers;
        dispatch(pass, 'weights', config, packed, {}, n * R, { 1: q, 2: k, 3: mask, 4: logSumExp, 5: extras, 6: weights }, temporaries);
      });
    },

    weightsBackward(given, rows, buffers, options) {
      const op = 'attentionWeightsBackward';
      checkProblem(op, given);
      const problem = withVariantBuffers(op, given, buffers);
      checkRows(op, problem, rows);
      const { n, queryLength: Lq, keyLength: Lk, headDim: d } = problem;
      const R = rows.length;
      const nKv = n / problem.groupSize;
      checkBuffers(op, {
        q: [buffers.q, n * Lq * d],
        k: [buffers.k, nKv * Lk * d],
        weights: [buffers.weights, n * R * Lk],
        dWeights: [buffers.dWeights, n * R * Lk],
        dq: [buffers.dq, n * Lq * d],
        dk: [buffers.dk, nKv * Lk * d],
      });
      const { positionBiasGradient, sinksGradient } = variantGradientsOf(op, problem, buffers);
      if (n * R * Lk === 0) return [];
      const H = problem.heads ?? 1;
      const config = configOf(problem);
      const packed = packProblem(problem, rows, 2 * n * R, false);
      return run(options, packed, buffers, (pass, extras, temporaries) => {
        const { q, k, weights, dWeights, dq, dk } = buffers;
        dispatch(
          pass,
          'weightsRowDot',
          config,
          packed,
          { threads: n * R },
          Math.ceil((n * R) / ROW_THREADS),
          { 2: extras, 3: weights, 4: dWeights },
          temporaries,
        );
        const queryThreads = n * R * d;
        dispatch(
          pass,
          'weightsQueryGradient',
          config,
          packed,
          { threads: queryThreads },
          Math.ceil(queryThreads / ROW_THREADS),
          { 1: q, 2: k, 4: extras, 5: weights, 6: dWeights, 7: dq },
          temporaries,
        );
        const keyThreads = nKv * Lk * d;
        dispatch(
          pass,
          'weightsKeyGradient',
          config,
          packed,
          { threads: keyThreads },
          Math.ceil(keyThreads / ROW_THREADS),
          { 1: q, 2: k, 4: extras, 5: weights, 6: dWeights, 7: dk },
          temporaries,
        );
        if (positionBiasGradient !== null) {
          const threads = H * (Lq + Lk - 1);
          const bindings = { 1: q, 2: k, 4: extras, 5: weights, 6: dWeights, 7: positionBiasGradient };
          dispatch(
            pass,
            'weightsPositionBiasGradient',
            config,
            packed,
            { threads },
            Math.ceil(threads / ROW_THREADS),
            bindings,
            temporaries,
          );
        }
        if (sinksGradient !== null) {
          const bindings = { 2: extras, 3: sinksGradient };
          dispatch(pass, 'weightsSinksGradient', config, packed, { threads: n * R }, Math.ceil(H / ROW_THREADS), bindings, temporaries);
        }
      });
    },
  };
}

/**
 * The row length a kernel is compiled for (its loops run to the problem's d and dv, read from the uniforms):
 * 16, or a multiple of 32, so that nearby sizes share pipelines.
 */
function capacityOf(size: number): number {
  return size <= 16 ? 16 : Math.ceil(size / 32) * 32;
}

function align4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}

/**
 * The problem with the variant parameters given as buffers (checked for size) in place of its host arrays: arrays of
 * their length, which reserve their words in the call's extras, where `run` copies the buffers on the GPU.
 */
function withVariantBuffers(op: string, problem: AttentionProblem, buffers: AttentionVariantBuffers): AttentionProblem {
  const H = problem.heads ?? 1;
  const lengths = { positionBias: H * (problem.queryLength + problem.keyLength - 1), sinks: H }; // [H, Lq + Lk − 1], [H]
  const given = { ...problem };
  for (const name of ['positionBias', 'sinks'] as const) {
    const buffer = buffers[name];
    if (!buffer) continue;
    checkBuffers(op, { [name]: [buffer, lengths[name]] });
    given[name] = new Float32Array(lengths[name]);
  }
  return given;
}

/** The variant gradients' buffers to write: those given for fields the problem has (checked for size), else null. */
function variantGradientsOf(
  op: string,
  problem: AttentionProblem,
  buffers: { positionBiasGradient?: GPUBuffer | null; sinksGradient?: GPUBuffer | null },
): { positionBiasGradient: GPUBuffer | null; sinksGradient: GPUBuffer | null } {
  const H = problem.heads ?? 1;
  const positionBiasGradient = problem.positionBias ? (buffers.positionBiasGradient ?? null) : null;
  const sinksGradient = problem.sinks ? (buffers.sinksGradient ?? null) : null;
  if (positionBiasGradient !== null)
    checkBuffers(op, { positionBiasGradient: [positionBiasGradient, H * (problem.queryLength + problem.keyLength - 1)] });
  if (sinksGradient !== null) checkBuffers(op, { sinksGradient: [sinksGradient, H] });
  return { positionBiasGradient, sinksGradient };
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** The problem's sizes and rules, checked before anything is recorded. */
function checkProblem(op: string, problem: AttentionProblem): void {
  if (typeof problem !== 'object' || problem === null)
    throw new ArgumentError(`problem must be an AttentionProblem, got ${String(problem)}`, { op, argument: 'problem' });
  for (const name of ['n', 'queryLength', 'keyLength', 'groupSize'] as const) {
    if (!isCount(problem[name]))
      throw new ArgumentError(`problem.${name} must be a non-negative integer, got ${String(problem[name])}`, { op, argument: name });
  }
  for (const name of ['headDim', 'valueDim'] as const) {
    const size = problem[name];
    if (!isCount(size) || size < 1 || size > MAX_ATTENTION_HEAD_DIM)
      throw new ConfigError(
        `problem.${name} must be an integer from 1 to ${MAX_ATTENTION_HEAD_DIM} (the WebGPU kernels keep a row in registers), got ${String(size)}`,
        { op, argument: name },
      );
  }
  const H = problem.heads ?? 1;
  if (problem.groupSize < 1 || problem.n % problem.groupSize !== 0) {
    throw new ArgumentError(`problem.groupSize (${problem.groupSize}) must divide n (${problem.n})`, { op, argument: 'groupSize' });
  }
  const sequenceFirst = problem.layout === 'sequence-first';
  if (!isCount(H) || H < 1 || problem.n % H !== 0 || (sequenceFirst && H % problem.groupSize !== 0)) {
    throw new ArgumentError(
      `problem.heads (${String(H)}) must divide n (${problem.n})${sequenceFirst ? ` and be a multiple of groupSize (${problem.groupSize})` : ''}`,
      { op, argument: 'heads' },
    );
  }
  if (!Number.isFinite(problem.scale))
    throw new ArgumentError(`problem.scale must be finite, got ${problem.scale}`, { op, argument: 'scale' });
  if (problem.causalOffset !== null && Number.isNaN(problem.causalOffset))
    throw new ArgumentError('problem.causalOffset is NaN', { op, argument: 'causalOffset' });
  if (problem.windowStart != null && Number.isNaN(problem.windowStart))
    throw new ArgumentError('problem.windowStart is NaN', { op, argument: 'windowStart' });
  if (problem.softcap != null && !(problem.softcap > 0 && Number.isFinite(problem.softcap))) {
    throw new ArgumentError(`problem.softcap must be a positive number, got ${problem.softcap}`, { op, argument: 'softcap' });
  }
  const B = problem.n / H;
  const lengths: [string, ArrayLike<number> | null | undefined, number][] = [
    ['alibiSlopes', problem.alibiSlopes, H],
    ['positionBias', problem.positionBias, H * (problem.queryLength + problem.keyLength - 1)],
    ['sinks', problem.sinks, H],
    ['querySegments', problem.querySegments, B * problem.queryLength],
    ['keySegments', problem.keySegments, B * problem.keyLength],
  ];
  for (const [name, data, length] of lengths) {
    if (data && data.length < length)
      throw new ShapeError(`problem.${name} has ${data.length} values, needs ${length}`, {
        op,
        argument: name,
        shapes: { [name]: [data.length] },
      });
  }
  if (!problem.querySegments !== !problem.keySegments)
    throw new ArgumentError('problem.querySegments and keySegments go together', {
      op,
      argument: problem.querySegments ? 'keySegments' : 'querySegments',
    });
}

function checkRows(op: string, problem: AttentionProblem, rows: Int32Array): void {
  if (!(rows instanceof Int32Array)) throw new ArgumentError('rows must be an Int32Array of query indices', { op, argument: 'rows' });
  for (const i of rows) {
    if (i < 0 || i >= problem.queryLength)
      throw new ArgumentError(`rows holds ${i}, outside the ${problem.queryLength} queries`, {
        op,
        argument: 'rows',
        shapes: { rows: [rows.length] },
      });
  }
}

/** Each buffer holds at least the float32 values its role needs. */
function checkBuffers(op: string, buffers: Record<string, [GPUBuffer | null | undefined, number]>): void {
  for (const [name, [buffer, values]] of Object.entries(buffers)) {
    if (!buffer || typeof buffer.size !== 'number') throw new ArgumentError(`buffers.${name} must be a GPUBuffer`, { op, argument: name });
    if (buffer.size < values * 4) {
      throw new ShapeError(`buffers.${name} holds ${buffer.size} bytes, needs ${values} float32 values (${values * 4} bytes)`, {
        op,
        argument: name,
        shapes: { [name]: [buffer.size / 4], needed: [values] },
      });
    }
  }
}

/** The mask's largest read index fits the mask. */
function checkMask(op: string, problem: AttentionProblem, given: GPUBuffer | null | undefined): void {
  if ((problem.attentionMask === null && !given) || problem.n * problem.queryLength * problem.keyLength === 0) return;
  const [sliceStride, queryStride, keyStride] = problem.attentionMaskStrides;
  const last = (problem.n - 1) * sliceStride + (problem.queryLength - 1) * queryStride + (problem.keyLength - 1) * keyStride;
  const length = given ? Math.floor(given.size / 4) : (problem.attentionMask?.length ?? 0);
  if (!(last < length) || [sliceStride, queryStride, keyStride].some((s) => !isCount(s))) {
    throw new ShapeError(
      `attentionMask of ${length} values read with strides [${problem.attentionMaskStrides.join(', ')}] reaches index ${last}`,
      {
        op,
        argument: 'attentionMask',
        shapes: { attentionMask: [length], attentionMaskStrides: [...problem.attentionMaskStrides] },
      },
    );
  }
}
