import { ConfigError, defaultRng, formatShape, Linear, Module, ShapeError, type Rng, type Tensor } from '@heed/tensor';
import { createScorer, type Scorer, type ScorerFor, type ScorerSpec } from '@heed/scorers';
import { attend, checkMaskShape, resolveNormalizer, toMask, type MaskLike, type Normalizer, type NormalizerSpec } from '@heed/soft-attention';

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
   * (default `{ kind: 'scaled-dot' }`, scale 1/√dk). A parametric scorer trains with the layer.
   */
  scorer?: Scorer | ScorerSpec;
  /** Step two: a Normalizer or a spec (default softmax). */
  normalizer?: Normalizer | NormalizerSpec;
  /** Biases in the projections (default true). */
  bias?: boolean;
  /** do: add an output projection [do, dv] after the weighted sum (default: none, the output is the context). */
  outputDim?: number;
  /** Dropout probability on the attention weights while training (default 0). */
  dropout?: number;
  /** Generator for the initial weights and for dropout (default: the shared default generator). */
  rng?: Rng;
}

export interface SelfAttentionCallOptions {
  /** Keep-mask (1 = may attend) broadcastable to [..., L, L]. */
  mask?: MaskLike;
  /** Keep-mask [B, L]: 1 = real position, 0 = padding. */
  keyPaddingMask?: MaskLike;
  /** Position i may attend positions j ≤ i. */
  causal?: boolean;
  /** Float mask added to the scores (0 = keep, −∞ = drop, or any bias), broadcastable to [..., L, L]. */
  additiveMask?: Tensor;
  /** Return the attention weights (default true); false returns `weights: null`. */
  needWeights?: boolean;
}

export interface SelfAttentionResult {
  /** [..., L, do] with an output projection, else [..., L, dv]. */
  output: Tensor;
  /** [..., L, L], or null when `needWeights` is false. */
  weights: Tensor | null;
}

/**
 * Attention of a sequence over itself: x is projected into queries, keys and values, then attended
 * with any scorer and normalizer.
 *   Q = x W_qᵀ + b_q,  K = x W_kᵀ + b_k,  V = x W_vᵀ + b_v
 *   output = attend(Q, K, V) [W_oᵀ + b_o]
 * Parameters: `queryProjection` [dk, d], `keyProjection` [dk, d], `valueProjection` [dv, d],
 * `scorer.*` (parametric scorers), `outputProjection` [do, dv] (with outputDim).
 */
export class SelfAttention<Spec extends Scorer | ScorerSpec = Scorer | ScorerSpec, S = ScorerFor<Spec>> extends Module {
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
    this.inputDim = positiveInteger(op, 'inputDim', options.inputDim);
    this.keyDim = positiveInteger(op, 'keyDim', options.keyDim);
    this.valueDim = positiveInteger(op, 'valueDim', options.valueDim);
    this.outputDim = options.outputDim === undefined ? null : positiveInteger(op, 'outputDim', options.outputDim);
    const dropout = options.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
      throw new ConfigError(`dropout must be a probability in [0, 1), got ${dropout}`, { op, argument: 'dropout' });
    }
    this.dropout = dropout;
    const rng = options.rng ?? defaultRng();
    this.#rng = rng;
    const bias = options.bias ?? true;
    this.queryProjection = new Linear(this.inputDim, this.keyDim, { bias, rng });
    this.keyProjection = new Linear(this.inputDim, this.keyDim, { bias, rng });
    this.valueProjection = new Linear(this.inputDim, this.valueDim, { bias, rng });
    this.scorer = buildScorer(options.scorer, this.keyDim, rng) as Extract<S, Scorer>;
    this.normalizer = resolveNormalizer(options.normalizer);
    this.outputProjection = this.outputDim === null ? null : new Linear(this.valueDim, this.outputDim, { bias, rng });
  }

  /** x [..., L, d] -> output [..., L, do or dv], weights [..., L, L] (or null) */
  forward(x: Tensor, options: SelfAttentionCallOptions & { needWeights: false }): SelfAttentionResult & { weights: null };
  forward(x: Tensor, options?: SelfAttentionCallOptions & { needWeights?: true }): SelfAttentionResult & { weights: Tensor };
  forward(x: Tensor, options?: SelfAttentionCallOptions): SelfAttentionResult;
  forward(x: Tensor, options: SelfAttentionCallOptions = {}): SelfAttentionResult {
    this.checkInputs(x, options);
    const q = this.queryProjection.forward(x); // [..., L, d] -> [..., L, dk]
    const k = this.keyProjection.forward(x); // [..., L, d] -> [..., L, dk]
    const v = this.valueProjection.forward(x); // [..., L, d] -> [..., L, dv]
    const needWeights = options.needWeights ?? true;
    // needWeights: false lets attend take its fused path (no [..., L, L] matrix) when the scorer and normalizer allow it.
    const { context, weights } = attend({
      query: q,
      keys: k,
      values: v,
      scorer: this.scorer,
      normalizer: this.normalizer,
      mask: options.mask,
      keyPaddingMask: options.keyPaddingMask,
      causal: options.causal,
      additiveMask: options.additiveMask,
      dropout: this.dropout,
      training: this.training,
      rng: this.#rng,
      needWeights,
    }); // context [..., L, dv], weights [..., L, L] or null
    const output = this.outputProjection ? this.outputProjection.forward(context) : context; // [..., L, dv] -> [..., L, do]
    return { output, weights };
  }

  private checkInputs(x: Tensor, options: SelfAttentionCallOptions): void {
    const op = 'SelfAttention.forward';
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.inputDim) {
      throw new ShapeError(`x ${formatShape(x.shape)} must be [..., L, inputDim] = [..., L, ${this.inputDim}]`, { op, argument: 'x', shapes: { x: x.shape } });
    }
    const lead = x.shape.slice(0, -2);
    const L = x.shape[x.rank - 2]!;
    const scores = [...lead, L, L];
    if (options.mask !== undefined) checkMaskShape(toMask(options.mask), scores, op, 'mask');
    if (options.additiveMask !== undefined) checkMaskShape(options.additiveMask, scores, op, 'additiveMask');
    if (options.keyPaddingMask !== undefined) {
      const padding = toMask(options.keyPaddingMask);
      const B = lead[0] ?? 1;
      if (padding.rank !== 2 || padding.shape[0] !== B || padding.shape[1] !== L) {
        throw new ShapeError(`keyPaddingMask ${formatShape(padding.shape)} must be [B, L] = [${B}, ${L}] for x ${formatShape(x.shape)}`, {
          op,
          argument: 'keyPaddingMask',
          shapes: { keyPaddingMask: padding.shape, x: x.shape },
        });
      }
    }
  }
}

function positiveInteger(op: string, argument: string, value: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${argument} must be a positive integer, got ${value}`, { op, argument });
  }
  return value;
}

/** The scorer as given, or built from its spec for queries and keys of size dk. */
function buildScorer(scorer: Scorer | ScorerSpec | undefined, keyDim: number, rng: Rng): Scorer {
  if (scorer !== undefined && typeof (scorer as Scorer).score === 'function') return scorer as Scorer;
  const spec = (scorer ?? { kind: 'scaled-dot' }) as ScorerSpec;
  try {
    return createScorer({ ...spec, queryDim: keyDim, keyDim, rng: spec.rng ?? rng } as ScorerSpec);
  } catch (error) {
    if (error instanceof ConfigError && error.op === 'createScorer') {
      throw new ConfigError(`scorer: ${error.message.replace(/^createScorer: /, '')}`, { op: 'SelfAttention', argument: 'scorer' });
    }
    throw error;
  }
}
