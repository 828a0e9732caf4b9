import {
  ArgumentError,
  concat,
  ConfigError,
  checkBooleanOption,
  checkConfigObject,
  checkPositiveInteger,
  resolveRng,
  formatShape,
  Linear,
  mean,
  Module,
  Parameter,
  reshape,
  broadcastTo,
  ShapeError,
  Tensor,
  xavierNormal,
  xavierUniform,
  zeros,
  type Rng,
  checkFiniteInput,
} from '@heed/tensor';
import type { Scorer, ScorerFor } from '@heed/scorers';
import {
  planAttention,
  resolveNormalizer,
  resolveScorer,
  runAttention,
  type AttentionCallOptions,
  type AttentionLayout,
  type Normalizer,
  type NormalizerLike,
  type ScorerLike,
} from '@heed/soft-attention';
import { KeyValueCache } from './key-value-cache';
import { PerHeadScorer } from './per-head-scorer';
import { mergeHeads, splitHeads } from './split-heads';
import { loadTorchStateDict, toTorchLayout, type LoadTorchStateDictOptions, type TorchStateDict } from './torch-state-dict';

// Shape letters: B batch, Lq queries, Lk keys (cached + new), E embedDim, H query heads, Hkv key/value heads,
// G = H / Hkv query heads per key/value head, d = E / H head size, Ekv = Hkv·d, kdim/vdim key/value input sizes,
// X extra keys (the learned bias key with addBiasKv, the zero key with addZeroAttn).

export interface MultiHeadAttentionOptions {
  /** E, the feature size of the queries and of the output; split evenly across the heads. */
  embedDim: number;
  /** H, the number of (query) heads; must divide embedDim. */
  numHeads: number;
  /**
   * Hkv, the number of key/value heads; must divide numHeads. numHeads (the default) is plain multi-head
   * attention, 1 is multi-query attention (MQA), anything between is grouped-query attention (GQA):
   * key/value head g serves query heads [g·G, (g+1)·G).
   */
  numKeyValueHeads?: number;
  /** kdim, the feature size of the key input (default embedDim), PyTorch's `kdim`. */
  keyDim?: number;
  /** vdim, the feature size of the value input (default embedDim), PyTorch's `vdim`. */
  valueDim?: number;
  /** Biases in the input and output projections (default true). */
  bias?: boolean;
  /** Learn one key and one value appended to every key sequence (PyTorch's `add_bias_kv`). */
  addBiasKv?: boolean;
  /** Append a zero key and a zero value to every key sequence (PyTorch's `add_zero_attn`). */
  addZeroAttn?: boolean;
  /** Dropout probability on the attention weights while training (default 0). */
  dropout?: number;
  /**
   * How each head scores its keys: a spec `{ kind, ...options }` (default `{ kind: 'scaled-dot' }`, scale 1/√d),
   * built with the head's sizes (queryDim = keyDim = d). A kind with parameters (general, concat, additive)
   * gets one instance per head, each with its own parameters (`scorers.0.…`, `scorers.1.…`); a parameter-free
   * kind one instance serving every head. A Scorer instance is shared by every head as given. A kind name
   * ('dot') is short for `{ kind }`.
   */
  scorer?: ScorerLike;
  /** Normalizer, spec or kind name (default softmax); `'sparsemax'` gives a sparsemax multi-head layer. */
  normalizer?: NormalizerLike;
  /** Generator for the initial weights and for dropout (default: the shared default generator). */
  rng?: Rng;
}

/**
 * The options of `MultiHeadAttention.forward`: the attention options of every call (see
 * `AttentionCallOptions`), over the keys the queries see (cached keys first), plus the layer's own:
 *   attentionMask  keep-mask [Lq, Lk], [B, Lq, Lk] or [B, H, Lq, Lk] (B, H and Lq may be 1)
 *   keyPaddingMask keep-mask [B, Lk]
 *   additiveMask   float mask in the shapes of attentionMask
 *   causal         `true` is offset 0, or the cached length with a cache (the new queries follow the cached keys)
 */
export interface MultiHeadForwardOptions extends AttentionCallOptions {
  /** Weights averaged over the heads [B, Lq, Lk] (default true), or per head [B, H, Lq, Lk]. */
  averageHeadWeights?: boolean;
  /** Key/value cache from `createCache()`: the new keys and values are appended to it, and the queries see all of it. */
  cache?: KeyValueCache;
}

export interface MultiHeadAttentionResult {
  /** [B, Lq, E] */
  output: Tensor;
  /** [B, Lq, Lk + X] averaged over heads, [B, H, Lq, Lk + X] per head, or null when `needWeights` is false. */
  weights: Tensor | null;
}

/** The options the constructor takes: any other name is refused, with the nearest one. */
const multiHeadOptionNames: readonly string[] = [
  'embedDim',
  'numHeads',
  'numKeyValueHeads',
  'keyDim',
  'valueDim',
  'bias',
  'addBiasKv',
  'addZeroAttn',
  'dropout',
  'scorer',
  'normalizer',
  'rng',
];

/**
 * Multi-head attention with the options of PyTorch's `nn.MultiheadAttention` (batch first), plus
 * grouped-query/multi-query heads, any scorer per head, any normalizer and a key/value cache.
 *   Q = query W_qᵀ + b_q, K = key W_kᵀ + b_k, V = value W_vᵀ + b_v, split into heads
 *   head_h = attend(Q_h, K_⌊h/G⌋, V_⌊h/G⌋)
 *   output = [head_0, …, head_{H−1}] W_oᵀ + b_o
 * Parameters: `queryProjection` [E, E], `keyProjection` [Ekv, kdim], `valueProjection` [Ekv, vdim],
 * `biasKey`/`biasValue` [1, 1, Ekv] (addBiasKv), `scorers.*` (parametric scorers), `outputProjection` [E, E].
 * `loadTorchStateDict` reads PyTorch's names and layouts.
 */
export class MultiHeadAttention<Spec extends ScorerLike = ScorerLike, S = ScorerFor<Spec>> extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly keyDim: number;
  readonly valueDim: number;
  /** d = embedDim / numHeads. */
  readonly headDim: number;
  /** Ekv = numKeyValueHeads · headDim, the size of the projected keys and values. */
  readonly keyValueEmbedDim: number;
  readonly bias: boolean;
  readonly addBiasKv: boolean;
  readonly addZeroAttn: boolean;
  readonly dropout: number;

  readonly queryProjection: Linear;
  readonly keyProjection: Linear;
  readonly valueProjection: Linear;
  /** [1, 1, Ekv], the learned key appended to every sequence (addBiasKv), else null. */
  readonly biasKey: Parameter | null;
  /** [1, 1, Ekv], the learned value appended to every sequence (addBiasKv), else null. */
  readonly biasValue: Parameter | null;
  /** One scorer per head, or a single one serving every head (parameter-free kinds, or an instance you gave). */
  readonly scorers: readonly Extract<S, Scorer>[];
  readonly normalizer: Normalizer;
  readonly outputProjection: Linear;

  readonly #scorer: Scorer;
  readonly #rng: Rng;

  constructor(options: MultiHeadAttentionOptions & { scorer?: Spec }) {
    super();
    const op = 'MultiHeadAttention';
    checkConfigObject(op, options, true, '{ embedDim, numHeads, ... }', multiHeadOptionNames);
    this.embedDim = checkPositiveInteger(op, 'embedDim', options.embedDim);
    this.numHeads = checkPositiveInteger(op, 'numHeads', options.numHeads);
    this.numKeyValueHeads = checkPositiveInteger(op, 'numKeyValueHeads', options.numKeyValueHeads ?? this.numHeads);
    this.keyDim = checkPositiveInteger(op, 'keyDim', options.keyDim ?? this.embedDim);
    this.valueDim = checkPositiveInteger(op, 'valueDim', options.valueDim ?? this.embedDim);
    if (this.embedDim % this.numHeads !== 0) {
      throw new ConfigError(
        `embedDim ${this.embedDim} is not divisible by numHeads ${this.numHeads} (each head takes embedDim / numHeads features)`,
        {
          op,
          argument: 'numHeads',
        },
      );
    }
    if (this.numHeads % this.numKeyValueHeads !== 0) {
      throw new ConfigError(
        `numHeads ${this.numHeads} is not divisible by numKeyValueHeads ${this.numKeyValueHeads} (each key/value head serves numHeads / numKeyValueHeads query heads)`,
        { op, argument: 'numKeyValueHeads' },
      );
    }
    const dropout = options.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
      throw new ConfigError(`dropout must be a probability in [0, 1), got ${dropout}`, { op, argument: 'dropout' });
    }
    this.dropout = dropout;
    this.headDim = this.embedDim / this.numHeads;
    this.keyValueEmbedDim = this.numKeyValueHeads * this.headDim;
    this.bias = checkBooleanOption(op, 'bias', options.bias, true);
    this.addBiasKv = checkBooleanOption(op, 'addBiasKv', options.addBiasKv, false);
    this.addZeroAttn = checkBooleanOption(op, 'addZeroAttn', options.addZeroAttn, false);
    const rng = resolveRng(op, options.rng);
    this.#rng = rng;

    // PyTorch's initialization: Xavier-uniform projections, zero biases, Xavier-normal bias key/value.
    const projection = (inFeatures: number, outFeatures: number): Linear => {
      const layer = new Linear(inFeatures, outFeatures, { bias: this.bias, rng });
      xavierUniform(layer.weight, rng);
      layer.bias?.data.fill(0);
      return layer;
    };
    this.queryProjection = projection(this.embedDim, this.embedDim);
    this.keyProjection = projection(this.keyDim, this.keyValueEmbedDim);
    this.valueProjection = projection(this.valueDim, this.keyValueEmbedDim);
    const learnedKeyValue = (): Parameter =>
      xavierNormal(new Parameter(new Float32Array(this.keyValueEmbedDim), [1, 1, this.keyValueEmbedDim]), rng) as Parameter;
    this.biasKey = this.addBiasKv ? learnedKeyValue() : null;
    this.biasValue = this.addBiasKv ? learnedKeyValue() : null;
    this.scorers = buildScorers(options.scorer, this.numHeads, this.headDim, rng) as Extract<S, Scorer>[];
    this.normalizer = resolveNormalizer(options.normalizer, op);
    this.outputProjection = new Linear(this.embedDim, this.embedDim, { bias: this.bias, rng });
    this.outputProjection.bias?.data.fill(0);
    this.#scorer = this.scorers.length === 1 ? this.scorers[0]! : new PerHeadScorer(this.scorers);
  }

  /** An empty key/value cache for incremental decoding with this layer. */
  createCache(): KeyValueCache {
    return new KeyValueCache(this.numKeyValueHeads, this.headDim);
  }

  /**
   * query [B, Lq, E], key [B, Lnew, kdim], value [B, Lnew, vdim] -> output [B, Lq, E],
   * weights [B, Lq, Lk + X] (averaged) or [B, H, Lq, Lk + X] (per head) or null,
   * where Lk = Lnew, plus the cached positions when a cache is given.
   */
  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: MultiHeadForwardOptions & { needWeights: false },
  ): MultiHeadAttentionResult & { weights: null };
  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options?: MultiHeadForwardOptions & { needWeights?: true },
  ): MultiHeadAttentionResult & { weights: Tensor };
  forward(query: Tensor, key: Tensor, value: Tensor, options?: MultiHeadForwardOptions): MultiHeadAttentionResult;
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiHeadForwardOptions = {}): MultiHeadAttentionResult {
    const op = 'MultiHeadAttention.forward';
    if (typeof options !== 'object' || options === null)
      throw new ArgumentError(`options must be an object { attentionMask, causal, cache, ... }, got ${String(options)}`, {
        op,
        argument: 'options',
      });
    const cache = options.cache;
    this.checkInputs(query, key, value, cache, op);
    if (options.averageHeadWeights !== undefined && typeof options.averageHeadWeights !== 'boolean')
      throw new ArgumentError(`averageHeadWeights must be true or false, got ${String(options.averageHeadWeights)}`, {
        op,
        argument: 'averageHeadWeights',
      });
    checkFiniteInput(op, 'query', query);
    // Padded positions may hold anything (they are never read): with a keyPaddingMask the attention call checks the rest.
    // Self-attention passes one tensor three times: it is scanned once.
    if (options.keyPaddingMask === undefined) {
      if (key !== query) checkFiniteInput(op, 'key', key);
      if (value !== query && value !== key) checkFiniteInput(op, 'value', value);
    }
    // A call that throws changes nothing: the cache gets back what it held.
    const run = () => this.attendAll(query, key, value, options, op);
    return cache ? cache.transaction(run) : run();
  }

  /** `forward` once its inputs are checked: project, append to the cache, plan and run attention, merge the heads. */
  private attendAll(query: Tensor, key: Tensor, value: Tensor, options: MultiHeadForwardOptions, op: string): MultiHeadAttentionResult {
    const [B, Lq] = query.shape as [number, number, number];
    const { numHeads: H, numKeyValueHeads: Hkv, headDim: d } = this;
    const cache = options.cache;
    const pastLength = cache?.length ?? 0;
    const extraKeys = Number(this.addBiasKv) + Number(this.addZeroAttn);

    // The heads stay where the projections put them ([B, L, H, d], 'sequence-first': no permute, and the fused
    // path reads them in place), except with a cache, which keeps [B, Hkv, L, d] ('heads-first').
    const layout: AttentionLayout = cache ? 'heads-first' : 'sequence-first';
    const heads = (x: Tensor, count: number): Tensor =>
      layout === 'sequence-first' ? reshape(x, [B, x.shape[1]!, count, d]) : splitHeads(x, count);
    const sequenceAxis = layout === 'sequence-first' ? 1 : 2;
    const q = heads(this.queryProjection.forward(query), H); // [B, Lq, E] -> [B, Lq, H, d] (or [B, H, Lq, d])
    let k = heads(this.keyProjection.forward(key), Hkv); // [B, Lnew, kdim] -> [B, Lnew, Hkv, d] (or [B, Hkv, Lnew, d])
    let v = heads(this.valueProjection.forward(value), Hkv); // [B, Lnew, vdim] -> [B, Lnew, Hkv, d] (or [B, Hkv, Lnew, d])
    if (cache) ({ keys: k, values: v } = cache.append(k, v, op)); // [B, Hkv, Lk, d] with Lk = past + Lnew
    const extraShape = layout === 'sequence-first' ? [B, 1, Hkv, d] : [B, Hkv, 1, d];
    if (this.biasKey && this.biasValue) {
      k = concat([k, this.perBatch(this.biasKey, extraShape)], sequenceAxis); // [B, Lk, Hkv, d] ++ [B, 1, Hkv, d] -> [B, Lk + 1, Hkv, d] (or on axis 2)
      v = concat([v, this.perBatch(this.biasValue, extraShape)], sequenceAxis); // [B, Lk + 1, Hkv, d]
    }
    if (this.addZeroAttn) {
      k = concat([k, zeros(extraShape)], sequenceAxis); // [B, .., Hkv, d] ++ [B, 1, Hkv, d] -> [B, Lk + X, Hkv, d] (or on axis 2)
      v = concat([v, zeros(extraShape)], sequenceAxis); // [B, Lk + X, Hkv, d]
    }

    // One plan for every head: the masks are checked once there; causal stays an index rule (offset = cached length).
    const causal = options.causal === true && pastLength > 0 ? { offset: pastLength } : options.causal;
    const call = {
      op,
      query: q,
      keys: k,
      values: v,
      scorer: this.#scorer,
      normalizer: this.normalizer,
      groupSize: H / Hkv,
      layout,
      dropout: this.dropout,
      training: this.training,
      names: { query: 'query', keys: 'key', values: 'value' },
      batchMasks: true,
      visibleExtraKeys: extraKeys,
      checkedKeyPositions: pastLength,
      optionNames: ['averageHeadWeights', 'cache'],
    };
    const plan = planAttention(call, { ...options, causal });
    const { context, weights } = runAttention(plan, this.#scorer, this.normalizer, this.#rng); // [B, Lq, H, d] (or [B, H, Lq, d]), [B, H, Lq, Lk + X] or null
    const merged = layout === 'sequence-first' ? reshape(context, [B, Lq, H * d]) : mergeHeads(context); // -> [B, Lq, E]
    const output = this.outputProjection.forward(merged); // [B, Lq, E] -> [B, Lq, E]
    if (!weights) return { output, weights: null };
    const averaged = options.averageHeadWeights ?? true;
    return { output, weights: averaged ? mean(weights, 1) : weights }; // [B, Lq, Lk + X] or [B, H, Lq, Lk + X]
  }

  /**
   * A learned [1, 1, Ekv] key or value as one extra position per batch element and head:
   * -> `shape` = [B, 1, Hkv, d] ('sequence-first') or [B, Hkv, 1, d] ('heads-first').
   */
  private perBatch(learned: Parameter, shape: readonly number[]): Tensor {
    const heads = reshape(learned, [1, shape[1]!, shape[2]!, this.headDim]); // [1, 1, Ekv] -> [1, 1, Hkv, d] or [1, Hkv, 1, d]
    return broadcastTo(heads, shape); // [B, 1, Hkv, d] or [B, Hkv, 1, d]
  }

  private checkInputs(query: Tensor, key: Tensor, value: Tensor, cache: KeyValueCache | undefined, op: string): void {
    for (const [argument, t] of [
      ['query', query],
      ['key', key],
      ['value', value],
    ] as const) {
      if (!(t instanceof Tensor))
        throw new ArgumentError(`${argument} must be a Tensor, got ${Array.isArray(t) ? 'an array' : String(t)}`, { op, argument });
    }
    const shapes = { query: query.shape, key: key.shape, value: value.shape };
    const expect = (argument: 'query' | 'key' | 'value', t: Tensor, features: number, name: string, L: string): void => {
      if (t.rank !== 3 || t.shape[2] !== features) {
        throw new ShapeError(`${argument} ${formatShape(t.shape)} must be [B, ${L}, ${name}] = [B, ${L}, ${features}]`, {
          op,
          argument,
          shapes,
        });
      }
    };
    expect('query', query, this.embedDim, 'embedDim', 'Lq');
    expect('key', key, this.keyDim, 'keyDim', 'Lk');
    expect('value', value, this.valueDim, 'valueDim', 'Lk');
    if (key.shape[0] !== query.shape[0] || value.shape[0] !== query.shape[0]) {
      throw new ShapeError(
        `query ${formatShape(query.shape)}, key ${formatShape(key.shape)} and value ${formatShape(value.shape)} must have the same batch size B`,
        {
          op,
          argument: key.shape[0] !== query.shape[0] ? 'key' : 'value',
          shapes,
        },
      );
    }
    if (key.shape[1] !== value.shape[1]) {
      throw new ShapeError(`key ${formatShape(key.shape)} and value ${formatShape(value.shape)} must have the same length Lk`, {
        op,
        argument: 'value',
        shapes,
      });
    }
    if (cache !== undefined && !(cache instanceof KeyValueCache))
      throw new ArgumentError('cache must be a KeyValueCache from createCache()', { op, argument: 'cache' });
    if (cache) {
      if (cache.numKeyValueHeads !== this.numKeyValueHeads || cache.headDim !== this.headDim) {
        throw new ShapeError(
          `cache holds [B, ${cache.numKeyValueHeads}, L, ${cache.headDim}] keys, this layer makes [B, ${this.numKeyValueHeads}, L, ${this.headDim}]: use the layer's own createCache()`,
          { op, argument: 'cache', shapes: { ...shapes, ...(cache.keys ? { cachedKeys: cache.keys.shape } : {}) } },
        );
      }
      if (cache.keys && cache.batchSize !== query.shape[0]) {
        throw new ShapeError(
          `cache holds a batch of ${cache.batchSize} (cached keys ${formatShape(cache.keys.shape)}), got query ${formatShape(query.shape)} with a batch of ${query.shape[0]}; use one cache per batch or reset() it`,
          { op, argument: 'cache', shapes: { ...shapes, cachedKeys: cache.keys.shape } },
        );
      }
    }
  }

  /**
   * Loads PyTorch `nn.MultiheadAttention` weights by their names and layouts: `in_proj_weight` [E + 2·Ekv, E]
   * (or `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim/vdim ≠ E), `in_proj_bias`,
   * `out_proj.weight`, `out_proj.bias`, `bias_k`, `bias_v`. Every key and shape is checked before anything
   * is written. Weights only: masks keep their own convention (see `fromTorchMask`).
   */
  loadTorchStateDict(stateDict: TorchStateDict, options: LoadTorchStateDictOptions = {}): void {
    loadTorchStateDict(this, stateDict, options);
  }

  /** The weights under PyTorch's names and layouts (packed `in_proj_weight` when kdim = vdim = E, as PyTorch). */
  torchStateDict(): Record<string, Tensor> {
    return toTorchLayout(this, (p) => p);
  }

  /** The gradients after `backward()`, under PyTorch's names and layouts (zeros for parameters without one). */
  torchStateDictGradients(): Record<string, Tensor> {
    return toTorchLayout(this, (p) => p.grad);
  }
}

/** One scorer per head for a kind with parameters; one shared instance for a parameter-free kind or a given instance. */
function buildScorers(scorer: ScorerLike | undefined, numHeads: number, headDim: number, rng: Rng): Scorer[] {
  const make = (): Scorer => resolveScorer(scorer, { op: 'MultiHeadAttention', queryDim: headDim, keyDim: headDim, rng });
  const first = make();
  if (first === scorer || first.parameters().length === 0) return [first];
  return [first, ...Array.from({ length: numHeads - 1 }, make)];
}
