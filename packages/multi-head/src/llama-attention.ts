import {
  ArgumentError,
  checkOptionNames,
  checkStateDictEntry,
  ConfigError,
  resolveRng,
  expectTensor,
  formatShape,
  Linear,
  Module,
  ShapeError,
  StateDictError,
  type Rng,
  type Tensor,
  checkFiniteInput,
} from '@heed/tensor';
import { ScaledDotScorer, type Scorer } from '@heed/scorers';
import {
  applyRotaryEmbedding,
  attend,
  SlidingWindowRule,
  Softmax,
  SoftmaxWithSinks,
  SoftcapScorer,
  type Normalizer,
  type RotaryStyle,
} from '@heed/soft-attention';
import { KeyValueCache } from './key-value-cache';
import { mergeHeads, splitHeads } from './split-heads';

// Shape letters: B batch, L new positions, P cached positions, Lk = P + L keys, E embedDim, H query heads,
// Hkv key/value heads, G = H / Hkv, d head size.

export interface LlamaAttentionOptions {
  /** E, the model's feature size (Hugging Face `hidden_size`). */
  embedDim: number;
  /** H, query heads (`num_attention_heads`). */
  numHeads: number;
  /** Hkv, key/value heads (`num_key_value_heads`, default numHeads); must divide numHeads (GQA, MQA at 1). */
  numKeyValueHeads?: number;
  /** d, the per-head size (`head_dim`, default embedDim / numHeads); even, for RoPE. */
  headDim?: number;
  /** RoPE frequency base (`rope_theta`, default 10000). */
  ropeBase?: number;
  /** RoPE feature pairing (default 'rotate-half', as Hugging Face Llama). */
  ropeStyle?: RotaryStyle;
  /** Mistral's causal sliding window W (`sliding_window`): query i sees keys i − W < j ≤ i. Default none. */
  slidingWindow?: number;
  /** Gemma 2's logit soft-cap (`attn_logit_softcapping`): scores become cap·tanh(s / cap). Default none. */
  softcap?: number;
  /** Gemma 2's `query_pre_attn_scalar`: the scale is its −½ power instead of d^−½. */
  queryPreAttentionScalar?: number;
  /** Biases in the four projections (`attention_bias`, e.g. gpt-oss, Qwen 2 has them on q/k/v only); default false. */
  attentionBias?: boolean;
  /** gpt-oss attention sinks: a learned logit per head in the softmax denominator (`sinks` [H]); default false. */
  sinks?: boolean;
  /** Generator for the initial weights (default: the shared default generator). */
  rng?: Rng;
}

export interface LlamaForwardOptions {
  /** Rotated keys and values of earlier positions (from `createCache()`); the new ones are appended. */
  cache?: KeyValueCache;
  /** Return the attention weights [B, H, L, Lk] (default true). */
  needWeights?: boolean;
}

export interface LlamaAttentionResult {
  /** [B, L, E] */
  output: Tensor;
  /** [B, H, L, Lk], or null with `needWeights: false`. */
  weights: Tensor | null;
}

/** Hugging Face parameter name -> heed parameter name, for the parameters a layer has. */
function huggingFaceNames(attentionBias: boolean, sinks: boolean): Readonly<Record<string, string>> {
  const names: Record<string, string> = {};
  for (const [hf, heed] of [
    ['q_proj', 'queryProjection'],
    ['k_proj', 'keyProjection'],
    ['v_proj', 'valueProjection'],
    ['o_proj', 'outputProjection'],
  ]) {
    names[`${hf}.weight`] = `${heed}.weight`;
    if (attentionBias) names[`${hf}.bias`] = `${heed}.bias`;
  }
  if (sinks) names.sinks = 'normalizer.sinks';
  return names;
}

/**
 * The self-attention layer of Llama-family models (Hugging Face LlamaAttention, MistralAttention,
 * Gemma2Attention without their norms), built from heed's parts:
 *   Q = x W_qᵀ, K = x W_kᵀ, V = x W_vᵀ (no biases), split into H and Hkv heads
 *   Q, K rotated by RoPE at their positions (each key once, when it arrives)
 *   head_h = attend(Q_h, K_⌊h/G⌋, V_⌊h/G⌋) with scaled-dot scores (softcapped if asked),
 *            causal, or within the sliding window; softmax, with per-head sinks if asked (gpt-oss)
 *   output = [head_0, …, head_{H−1}] W_oᵀ
 * Parameters: `queryProjection` [H·d, E], `keyProjection` / `valueProjection` [Hkv·d, E],
 * `outputProjection` [E, H·d] (biases with `attentionBias`), `normalizer.sinks` [H] (with `sinks`);
 * `loadHuggingFaceStateDict` reads `q_proj.weight`, …, `sinks`.
 */
export class LlamaAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly ropeBase: number;
  readonly ropeStyle: RotaryStyle;
  readonly slidingWindow: number | null;
  readonly softcap: number | null;
  /** The score scale: queryPreAttentionScalar^−½ or headDim^−½. */
  readonly scale: number;
  readonly queryProjection: Linear;
  readonly keyProjection: Linear;
  readonly valueProjection: Linear;
  readonly outputProjection: Linear;
  /** Softmax, or SoftmaxWithSinks (holding `sinks` [H]) with `sinks: true`. */
  readonly normalizer: Normalizer;
  private readonly huggingFaceNames: Readonly<Record<string, string>>;
  private readonly scorer: Scorer;

  constructor(options: LlamaAttentionOptions) {
    super();
    const op = 'LlamaAttention';
    if (typeof options !== 'object' || options === null)
      throw new ConfigError(`takes one options object { embedDim, numHeads, ... }, got ${String(options)}`, { op, argument: 'options' });
    checkOptionNames(op, options, llamaOptionNames, 'config');
    const { embedDim, numHeads } = options;
    const positive = (argument: string, v: unknown): void => {
      if (!Number.isInteger(v) || (v as number) < 1)
        throw new ConfigError(`${argument} must be a positive integer, got ${String(v)}`, { op, argument });
    };
    positive('embedDim', embedDim);
    positive('numHeads', numHeads);
    const numKeyValueHeads = options.numKeyValueHeads ?? numHeads;
    positive('numKeyValueHeads', numKeyValueHeads);
    if (numHeads % numKeyValueHeads !== 0) {
      throw new ConfigError(`numKeyValueHeads (${numKeyValueHeads}) must divide numHeads (${numHeads})`, {
        op,
        argument: 'numKeyValueHeads',
      });
    }
    if (options.headDim === undefined && embedDim % numHeads !== 0) {
      throw new ConfigError(`embedDim (${embedDim}) must be divisible by numHeads (${numHeads}), or give headDim`, {
        op,
        argument: 'numHeads',
      });
    }
    const headDim = options.headDim ?? embedDim / numHeads;
    positive('headDim', headDim);
    if (headDim % 2 !== 0)
      throw new ConfigError(`headDim must be even for RoPE (features rotate in pairs), got ${headDim}`, { op, argument: 'headDim' });
    const ropeBase = options.ropeBase ?? 10000;
    if (!Number.isFinite(ropeBase) || ropeBase <= 1)
      throw new ConfigError(`ropeBase must be a finite number > 1, got ${ropeBase}`, { op, argument: 'ropeBase' });
    const ropeStyle = options.ropeStyle ?? 'rotate-half';
    if (ropeStyle !== 'rotate-half' && ropeStyle !== 'interleaved') {
      throw new ConfigError(`ropeStyle must be 'rotate-half' or 'interleaved', got ${JSON.stringify(ropeStyle)}`, {
        op,
        argument: 'ropeStyle',
      });
    }
    if (options.slidingWindow !== undefined) positive('slidingWindow', options.slidingWindow);
    for (const argument of ['softcap', 'queryPreAttentionScalar'] as const) {
      const v = options[argument];
      if (v !== undefined && (!Number.isFinite(v) || v <= 0))
        throw new ConfigError(`${argument} must be a finite number > 0, got ${v}`, { op, argument });
    }

    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.numKeyValueHeads = numKeyValueHeads;
    this.headDim = headDim;
    this.ropeBase = ropeBase;
    this.ropeStyle = ropeStyle;
    this.slidingWindow = options.slidingWindow ?? null;
    this.softcap = options.softcap ?? null;
    this.scale = (options.queryPreAttentionScalar ?? headDim) ** -0.5;
    for (const argument of ['attentionBias', 'sinks'] as const) {
      if (options[argument] !== undefined && typeof options[argument] !== 'boolean')
        throw new ConfigError(`${argument} must be true or false, got ${String(options[argument])}`, { op, argument });
    }
    const rng = resolveRng(op, options.rng);
    const bias = options.attentionBias ?? false;
    this.queryProjection = new Linear(embedDim, numHeads * headDim, { bias, rng });
    this.keyProjection = new Linear(embedDim, numKeyValueHeads * headDim, { bias, rng });
    this.valueProjection = new Linear(embedDim, numKeyValueHeads * headDim, { bias, rng });
    this.outputProjection = new Linear(numHeads * headDim, embedDim, { bias, rng });
    this.normalizer = options.sinks ? new SoftmaxWithSinks({ numHeads }) : new Softmax();
    this.huggingFaceNames = huggingFaceNames(bias, options.sinks ?? false);
    const scaledDot = new ScaledDotScorer({ scale: this.scale });
    this.scorer = this.softcap === null ? scaledDot : new SoftcapScorer(this.softcap, { inner: scaledDot });
  }

  /** An empty cache of rotated keys and values for incremental decoding. */
  createCache(): KeyValueCache {
    return new KeyValueCache(this.numKeyValueHeads, this.headDim);
  }

  /** x [B, L, E] -> output [B, L, E], weights [B, H, L, Lk] (null with needWeights false) */
  forward(x: Tensor, options: LlamaForwardOptions & { needWeights: false }): LlamaAttentionResult & { weights: null };
  forward(x: Tensor, options?: LlamaForwardOptions & { needWeights?: true }): LlamaAttentionResult & { weights: Tensor };
  forward(x: Tensor, options?: LlamaForwardOptions): LlamaAttentionResult;
  forward(x: Tensor, options: LlamaForwardOptions = {}): LlamaAttentionResult {
    const op = 'LlamaAttention.forward';
    expectTensor(op, 'x', x);
    if (x.rank !== 3 || x.shape[2] !== this.embedDim) {
      throw new ShapeError(`x ${formatShape(x.shape)} must be [B, L, E] with E = embedDim = ${this.embedDim}`, {
        op,
        argument: 'x',
        shapes: { x: x.shape },
      });
    }
    checkForwardOptions(op, x, options);
    // A call that throws changes nothing: the cache gets back what it held.
    const { cache } = options;
    const run = () => this.attendAll(x, options, op);
    return cache ? cache.transaction(run) : run();
  }

  /** `forward` once its inputs are checked: project, rotate, append to the cache, attend, merge the heads. */
  private attendAll(x: Tensor, options: LlamaForwardOptions, op: string): LlamaAttentionResult {
    const { cache } = options;
    const P = cache?.length ?? 0;
    const rope = { base: this.ropeBase, style: this.ropeStyle, positionOffset: P };
    const q = applyRotaryEmbedding(splitHeads(this.queryProjection.forward(x), this.numHeads), rope); // [B, L, E] -> [B, L, H·d] -> [B, H, L, d]
    let k = applyRotaryEmbedding(splitHeads(this.keyProjection.forward(x), this.numKeyValueHeads), rope); // [B, L, E] -> [B, Hkv, L, d]
    let v = splitHeads(this.valueProjection.forward(x), this.numKeyValueHeads); // [B, L, E] -> [B, Hkv, L, d]
    if (cache) ({ keys: k, values: v } = cache.append(k, v, op)); // [B, Hkv, P + L, d]
    const { context, weights } = attend({
      query: q,
      keys: k,
      values: v,
      scorer: this.scorer,
      normalizer: this.normalizer,
      groupSize: this.numHeads / this.numKeyValueHeads,
      // Query row r sits at position P + r: causal, or Mistral's window i − W < j ≤ i, as index rules (the fused path runs both).
      ...(this.slidingWindow === null ? { causal: { offset: P } } : { keepRule: new SlidingWindowRule(this.slidingWindow, P) }),
      needWeights: options.needWeights ?? true,
    }); // [B, H, L, d], [B, H, L, Lk]
    const output = this.outputProjection.forward(mergeHeads(context)); // [B, H, L, d] -> [B, L, H·d] -> [B, L, E]
    return { output, weights };
  }

  /** This layer's weights under Hugging Face names (`q_proj.weight`, …), copies. */
  huggingFaceStateDict(): Record<string, Tensor> {
    const own = this.stateDict();
    return Object.fromEntries(Object.entries(this.huggingFaceNames).map(([hf, heed]) => [hf, own[heed]!]));
  }

  /**
   * Loads `q_proj.weight` [H·d, E], `k_proj.weight` / `v_proj.weight` [Hkv·d, E], `o_proj.weight` [E, H·d]
   * (and their `.bias` with `attentionBias`, `sinks` [H] with `sinks`) (keys under `prefix`, e.g. 'model.layers.0.self_attn.'). Every key and shape is checked first; a
   * failure names the key and both shapes, and writes nothing. `strict` (default true) refuses missing
   * and unexpected keys under the prefix.
   */
  loadHuggingFaceStateDict(
    state: Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>,
    options: { prefix?: string; strict?: boolean } = {},
  ): void {
    const op = 'LlamaAttention.loadHuggingFaceStateDict';
    if (typeof state !== 'object' || state === null)
      throw new StateDictError(`state must be an object of tensors by Hugging Face name, got ${String(state)}`, {
        op,
        argument: 'state',
        keys: [],
      });
    const prefix = options.prefix ?? '';
    const strict = options.strict ?? true;
    const given = new Map(
      Object.entries(state)
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, value]) => [key.slice(prefix.length), value] as const),
    );
    const own = new Map(this.namedParameters());
    const missing = Object.keys(this.huggingFaceNames).filter((key) => !given.has(key));
    const unexpected = [...given.keys()].filter((key) => !(key in this.huggingFaceNames));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts = [];
      if (missing.length) parts.push(`missing keys: ${missing.map((k) => prefix + k).join(', ')}`);
      if (unexpected.length) parts.push(`unexpected keys: ${unexpected.map((k) => prefix + k).join(', ')}`);
      throw new StateDictError(`${parts.join('; ')} (a Llama attention layer has ${Object.keys(this.huggingFaceNames).join(', ')})`, {
        op,
        argument: 'state',
        keys: [...missing, ...unexpected].map((k) => prefix + k),
      });
    }
    const renamed: Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }> = {};
    for (const [hf, heed] of Object.entries(this.huggingFaceNames)) {
      if (!given.has(hf)) continue; // only without strict
      const value = given.get(hf)!;
      const expected = own.get(heed)!.shape;
      if (
        Array.isArray(value?.shape) &&
        (value.shape.length !== expected.length ||
          value.shape.some((n, i) => n !== expected[i]) ||
          value.data?.length !== own.get(heed)!.size)
      ) {
        throw new StateDictError(
          `key '${prefix}${hf}' has shape ${formatShape(value.shape)}, this layer expects ${formatShape(expected)} (embedDim ${this.embedDim}, numHeads ${this.numHeads}, numKeyValueHeads ${this.numKeyValueHeads}, headDim ${this.headDim})`,
          {
            op,
            argument: prefix + hf,
            keys: [prefix + hf],
            shapes: { expected, got: value.shape },
          },
        );
      }
      renamed[heed] = checkStateDictEntry(op, prefix + hf, value, expected); // not null, numbers, finite
    }
    this.loadStateDict(renamed, { strict: false });
  }
}

/** The names `LlamaAttentionOptions` holds: any other is refused, with the nearest one. */
const llamaOptionNames = [
  'embedDim',
  'numHeads',
  'numKeyValueHeads',
  'headDim',
  'ropeBase',
  'ropeStyle',
  'slidingWindow',
  'softcap',
  'queryPreAttentionScalar',
  'attentionBias',
  'sinks',
  'rng',
];

/** Refuses a non-finite x (which attention would refuse naming its own projected shapes), and options that are not ones. */
function checkForwardOptions(op: string, x: Tensor, options: LlamaForwardOptions): void {
  checkFiniteInput(op, 'x', x);
  if (typeof options !== 'object' || options === null)
    throw new ArgumentError(`options must be an object { cache, needWeights }, got ${String(options)}`, { op, argument: 'options' });
  checkOptionNames(op, options, ['cache', 'needWeights'], 'call', { x: x.shape });
  if (options.cache !== undefined && !(options.cache instanceof KeyValueCache))
    throw new ArgumentError('cache must be a KeyValueCache from createCache()', { op, argument: 'cache' });
  if (options.needWeights !== undefined && typeof options.needWeights !== 'boolean')
    throw new ArgumentError(`needWeights must be true or false, got ${String(options.needWeights)}`, { op, argument: 'needWeights' });
}
