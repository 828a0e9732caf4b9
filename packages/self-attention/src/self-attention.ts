import {
  ArgumentError,
  checkBooleanOption,
  checkConfigObject,
  checkPositiveInteger,
  ConfigError,
  resolveRng,
  formatShape,
  Linear,
  Module,
  ShapeError,
  Tensor,
  type Rng,
} from '@heed/tensor';
import type { Scorer, ScorerFor } from '@heed/scorers';
import {
  planAttention,
  resolveNormalizer,
  resolveScorer,
  runAttention,
  type AttentionCallOptions,
  type Normalizer,
  type NormalizerLike,
  type ScorerLike,
} from '@heed/soft-attention';

// Shape letters: B batch (any leading dims), L sequence length, d inputDim, dk keyDim, dv valueDim, do outputDim.

export interface SelfAttentionOptions {
  /** d, the feature size of the input sequence. */
  inputDim: number;
  /** dk, the size of the projected queries and keys. */
  keyDim: number;
  /** dv, the size of the projected values (and of the output unless `outputDim` is set). */
  valueDim: number;
  /**
   * Step one: a Scorer, or a spec `{ kind, ...options }` built with queryDim = keyDim = dk
   * (default `{ kind: 'scaled-dot' }`, scale 1/√dk), or a kind name. A parametric scorer trains with the layer.
   */
  scorer?: ScorerLike;
  /** Step two: a Normalizer, a spec or a kind name (default softmax). */
  normalizer?: NormalizerLike;
  /** Biases in the projections (default true). */
  bias?: boolean;
  /** do: add an output projection [do, dv] after the weighted sum (default: none, the output is the context). */
  outputDim?: number;
  /** Dropout probability on the attention weights while training (default 0). */
  dropout?: number;
  /** Generator for the initial weights and for dropout (default: the shared default generator). */
  rng?: Rng;
}

/**
 * The options of `SelfAttention.forward`: the attention options of every call (see `AttentionCallOptions`),
 * over the scores [..., L, L]; keyPaddingMask is [B, L].
 */
export type SelfAttentionCallOptions = AttentionCallOptions;

export interface SelfAttentionResult {
  /** [..., L, do] with an output projection, else [..., L, dv]. */
  output: Tensor;
  /** [..., L, L], or null when `needWeights` is false. */
  weights: Tensor | null;
}

/** The options the constructor takes: any other name is refused, with the nearest one. */
const selfAttentionOptionNames: readonly string[] = [
  'inputDim',
  'keyDim',
  'valueDim',
  'scorer',
  'normalizer',
  'bias',
  'outputDim',
  'dropout',
  'rng',
];

/**
 * Attention of a sequence over itself: x is projected into queries, keys and values, then attended
 * with any scorer and normalizer.
 *   Q = x W_qᵀ + b_q,  K = x W_kᵀ + b_k,  V = x W_vᵀ + b_v
 *   output = attend(Q, K, V) [W_oᵀ + b_o]
 * Parameters: `queryProjection` [dk, d], `keyProjection` [dk, d], `valueProjection` [dv, d],
 * `scorer.*` (parametric scorers), `outputProjection` [do, dv] (with outputDim).
 */
export class SelfAttention<Spec extends ScorerLike = ScorerLike, S = ScorerFor<Spec>> extends Module {
  readonly inputDim: number;
  readonly keyDim: number;
  readonly valueDim: number;
  readonly outputDim: number | null;
  readonly dropout: number;

  readonly queryProjection: Linear;
  readonly keyProjection: Linear;
  readonly valueProjection: Linear;
  readonly scorer: Extract<S, Scorer>;
  readonly normalizer: Normalizer;
  readonly outputProjection: Linear | null;

  readonly #rng: Rng;

  constructor(options: SelfAttentionOptions & { scorer?: Spec }) {
    super();
    const op = 'SelfAttention';
    checkConfigObject(op, options, true, '{ inputDim, keyDim, valueDim, ... }', selfAttentionOptionNames);
    this.inputDim = checkPositiveInteger(op, 'inputDim', options.inputDim);
    this.keyDim = checkPositiveInteger(op, 'keyDim', options.keyDim);
    this.valueDim = checkPositiveInteger(op, 'valueDim', options.valueDim);
    this.outputDim = options.outputDim === undefined ? null : checkPositiveInteger(op, 'outputDim', options.outputDim);
    const dropout = options.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
      throw new ConfigError(`dropout must be a probability in [0, 1), got ${dropout}`, { op, argument: 'dropout' });
    }
    this.dropout = dropout;
    const rng = resolveRng(op, options.rng);
    this.#rng = rng;
    const bias = checkBooleanOption(op, 'bias', options.bias, true);
    this.queryProjection = new Linear(this.inputDim, this.keyDim, { bias, rng });
    this.keyProjection = new Linear(this.inputDim, this.keyDim, { bias, rng });
    this.valueProjection = new Linear(this.inputDim, this.valueDim, { bias, rng });
    this.scorer = resolveScorer(options.scorer, { op, queryDim: this.keyDim, keyDim: this.keyDim, rng }) as Extract<S, Scorer>;
    this.normalizer = resolveNormalizer(options.normalizer, op);
    this.outputProjection = this.outputDim === null ? null : new Linear(this.valueDim, this.outputDim, { bias, rng });
  }

  /** x [..., L, d] -> output [..., L, do or dv], weights [..., L, L] (null with needWeights false) */
  forward(x: Tensor, options: SelfAttentionCallOptions & { needWeights: false }): SelfAttentionResult & { weights: null };
  forward(x: Tensor, options?: SelfAttentionCallOptions & { needWeights?: true }): SelfAttentionResult & { weights: Tensor };
  forward(x: Tensor, options?: SelfAttentionCallOptions): SelfAttentionResult;
  forward(x: Tensor, options: SelfAttentionCallOptions = {}): SelfAttentionResult {
    const op = 'SelfAttention.forward';
    if (!(x instanceof Tensor))
      throw new ArgumentError(`x must be a Tensor [..., L, inputDim], got ${Array.isArray(x) ? 'an array' : String(x)}`, {
        op,
        argument: 'x',
      });
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.inputDim) {
      throw new ShapeError(`x ${formatShape(x.shape)} must be [..., L, inputDim] = [..., L, ${this.inputDim}]`, {
        op,
        argument: 'x',
        shapes: { x: x.shape },
      });
    }
    const q = this.queryProjection.forward(x); // [..., L, d] -> [..., L, dk]
    const k = this.keyProjection.forward(x); // [..., L, d] -> [..., L, dk]
    const v = this.valueProjection.forward(x); // [..., L, d] -> [..., L, dv]
    // Masks and options are checked once, by the planner; needWeights: false lets the fused path run (no [..., L, L] matrix).
    const call = {
      op,
      query: q,
      keys: k,
      values: v,
      scorer: this.scorer,
      normalizer: this.normalizer,
      dropout: this.dropout,
      training: this.training,
      names: { query: 'x', keys: 'x', values: 'x' },
    };
    const { context, weights } = runAttention(planAttention(call, options), this.scorer, this.normalizer, this.#rng); // context [..., L, dv], weights [..., L, L] or null
    const output = this.outputProjection ? this.outputProjection.forward(context) : context; // [..., L, dv] -> [..., L, do]
    return { output, weights };
  }
}
