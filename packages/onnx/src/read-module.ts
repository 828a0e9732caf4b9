import { ConfigError, Module, type Linear, type Parameter } from '@heed/tensor';
import { LlamaAttention, MultiHeadAttention } from '@heed/multi-head';
import { SelfAttention } from '@heed/self-attention';
import {
  resolveNormalizer,
  resolveScorer,
  SoftAttention,
  SoftcapScorer,
  type Normalizer,
  type NormalizerSpec,
  type RotaryStyle,
} from '@heed/soft-attention';
import { ScaledDotScorer, type Scorer, type ScorerSpec } from '@heed/scorers';

// The one place that reads heed's modules and attention configurations: their public fields and
// parameters, turned into the description the exporter writes. When a module's options change, this
// file changes; the graph code does not.

/** An `attend` configuration: the scorer and normalizer of a call (masks and causal are export options). */
export interface AttendConfig {
  scorer?: Scorer | ScorerSpec;
  normalizer?: Normalizer | NormalizerSpec;
}

/** Feature sizes of an `attend` / `SoftAttention` export (modules carry their own). */
export interface AttendDims {
  /** dq, the query feature size (per head). */
  queryDim: number;
  /** dk (default dq). */
  keyDim?: number;
  /** dv (default dk). */
  valueDim?: number;
  /** H: the inputs are [B, H, L, d] (default: no heads axis, [B, L, d]). */
  numHeads?: number;
  /** Hkv, key/value heads for grouped-query inputs (default H). */
  numKeyValueHeads?: number;
}

export type ExportSource = SoftAttention | SelfAttention | MultiHeadAttention | LlamaAttention | AttendConfig;

export interface LinearParameters {
  weight: Parameter;
  bias: Parameter | null;
}

export interface AttentionDescription {
  kind: 'attend' | 'self-attention' | 'multi-head' | 'llama';
  scorers: { scorer: Scorer; prefix: string }[];
  normalizer: Normalizer;
  /** H (0: no heads axis), Hkv. */
  numHeads: number;
  numKeyValueHeads: number;
  /** Per-head sizes. */
  queryDim: number;
  keyDim: number;
  valueDim: number;
  /** Input projections and the output projection (modules only). */
  projections: { query: LinearParameters; key: LinearParameters; value: LinearParameters; output: LinearParameters | null } | null;
  /** The input feature sizes: x (self-attention), or query, key, value (multi-head). */
  inputDims: { query: number; key: number; value: number };
  /** The output feature size. */
  outputDim: number;
  namedParameters: [string, Parameter][];
  /** Rotary embedding of the projected queries and keys (LlamaAttention). */
  rotary: { base: number; style: RotaryStyle } | null;
  /** The block's own keep rule (LlamaAttention: always causal, maybe a sliding window). */
  keepRule: { causal: true; slidingWindow?: number } | null;
}

const linear = (layer: Linear): LinearParameters => ({ weight: layer.weight, bias: layer.bias });

function positive(value: number | undefined, argument: string): number {
  if (value === undefined || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`dims.${argument} must be a positive integer, got ${value}`, {
      op: 'exportToOnnx',
      argument: `dims.${argument}`,
    });
  }
  return value;
}

/** Reads a module or an attend configuration; `dims` is needed for `attend` / `SoftAttention`. */
export function describe(source: ExportSource, dims: AttendDims | undefined): AttentionDescription {
  if (source instanceof MultiHeadAttention) return describeMultiHead(source);
  if (source instanceof LlamaAttention) return describeLlama(source);
  if (source instanceof SelfAttention) return describeSelfAttention(source);
  const scorer = source instanceof SoftAttention ? source.scorer : resolveScorer(source.scorer);
  const normalizer = source instanceof SoftAttention ? source.normalizer : resolveNormalizer(source.normalizer);
  if (!dims)
    throw new ConfigError('exporting attend or SoftAttention needs options.dims { queryDim, keyDim?, valueDim?, numHeads? }', {
      op: 'exportToOnnx',
      argument: 'dims',
    });
  const queryDim = positive(dims.queryDim, 'queryDim');
  const keyDim = positive(dims.keyDim ?? queryDim, 'keyDim');
  const valueDim = positive(dims.valueDim ?? keyDim, 'valueDim');
  const numHeads = dims.numHeads === undefined ? 0 : positive(dims.numHeads, 'numHeads');
  const numKeyValueHeads = dims.numKeyValueHeads === undefined ? numHeads : positive(dims.numKeyValueHeads, 'numKeyValueHeads');
  if (numHeads === 0 ? dims.numKeyValueHeads !== undefined : numHeads % numKeyValueHeads !== 0) {
    throw new ConfigError(`dims.numKeyValueHeads ${numKeyValueHeads} must divide dims.numHeads ${numHeads}`, {
      op: 'exportToOnnx',
      argument: 'dims.numKeyValueHeads',
    });
  }
  const named =
    source instanceof SoftAttention
      ? source.namedParameters()
      : [
          ...(scorer as Module).namedParameters('scorer.'),
          ...(normalizer instanceof Module ? normalizer.namedParameters('normalizer.') : []),
        ];
  return {
    kind: 'attend',
    scorers: [{ scorer, prefix: 'scorer.' }],
    normalizer,
    numHeads,
    numKeyValueHeads,
    queryDim,
    keyDim,
    valueDim,
    projections: null,
    inputDims: { query: queryDim, key: keyDim, value: valueDim },
    outputDim: valueDim,
    namedParameters: named,
    rotary: null,
    keepRule: null,
  };
}

function describeSelfAttention(module: SelfAttention): AttentionDescription {
  return {
    kind: 'self-attention',
    scorers: [{ scorer: module.scorer, prefix: 'scorer.' }],
    normalizer: module.normalizer,
    numHeads: 0,
    numKeyValueHeads: 0,
    queryDim: module.keyDim,
    keyDim: module.keyDim,
    valueDim: module.valueDim,
    projections: {
      query: linear(module.queryProjection),
      key: linear(module.keyProjection),
      value: linear(module.valueProjection),
      output: module.outputProjection ? linear(module.outputProjection) : null,
    },
    inputDims: { query: module.inputDim, key: module.inputDim, value: module.inputDim },
    outputDim: module.outputDim ?? module.valueDim,
    namedParameters: module.namedParameters(),
    rotary: null,
    keepRule: null,
  };
}

function describeMultiHead(module: MultiHeadAttention): AttentionDescription {
  if (module.addBiasKv || module.addZeroAttn) {
    throw new ConfigError('MultiHeadAttention with addBiasKv or addZeroAttn has no ONNX export yet', {
      op: 'exportToOnnx',
      argument: 'module',
    });
  }
  return {
    kind: 'multi-head',
    scorers: module.scorers.map((scorer, h) => ({ scorer, prefix: module.scorers.length === 1 ? 'scorers.0.' : `scorers.${h}.` })),
    normalizer: module.normalizer,
    numHeads: module.numHeads,
    numKeyValueHeads: module.numKeyValueHeads,
    queryDim: module.headDim,
    keyDim: module.headDim,
    valueDim: module.headDim,
    projections: {
      query: linear(module.queryProjection),
      key: linear(module.keyProjection),
      value: linear(module.valueProjection),
      output: linear(module.outputProjection),
    },
    inputDims: { query: module.embedDim, key: module.keyDim, value: module.valueDim },
    outputDim: module.embedDim,
    namedParameters: module.namedParameters(),
    rotary: null,
    keepRule: null,
  };
}

/**
 * LlamaAttention from its public fields: RoPE on the projected queries and keys, scaled-dot scores at
 * `scale` (soft-capped when `softcap` is set), its normalizer (softmax or softmax with sinks), causal or a
 * causal sliding window, GQA heads.
 */
function describeLlama(module: LlamaAttention): AttentionDescription {
  const scaledDot = new ScaledDotScorer({ scale: module.scale });
  const scorer = module.softcap === null ? scaledDot : new SoftcapScorer(module.softcap, { inner: scaledDot });
  return {
    kind: 'llama',
    scorers: [{ scorer, prefix: 'scorer.' }],
    normalizer: module.normalizer,
    numHeads: module.numHeads,
    numKeyValueHeads: module.numKeyValueHeads,
    queryDim: module.headDim,
    keyDim: module.headDim,
    valueDim: module.headDim,
    projections: {
      query: linear(module.queryProjection),
      key: linear(module.keyProjection),
      value: linear(module.valueProjection),
      output: linear(module.outputProjection),
    },
    inputDims: { query: module.embedDim, key: module.embedDim, value: module.embedDim },
    outputDim: module.embedDim,
    namedParameters: module.namedParameters(),
    rotary: { base: module.ropeBase, style: module.ropeStyle },
    keepRule: module.slidingWindow === null ? { causal: true } : { causal: true, slidingWindow: module.slidingWindow },
  };
}
