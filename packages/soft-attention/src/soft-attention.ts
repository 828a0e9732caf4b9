import { ConfigError, checkConfigObject, resolveRng, Module, type Rng, type Tensor } from '@heed/tensor';
import type { Scorer } from '@heed/scorers';
import { runAttention, type AttendResult } from './attend';
import type { Normalizer } from './normalizer';
import { resolveNormalizer, type NormalizerLike } from './normalizer-registry';
import { planAttention, type AttentionCallOptions } from './plan-attention';
import { resolveScorer, type ScorerLike } from './resolve-scorer';

export interface SoftAttentionOptions {
  /** A Scorer, a spec `{ kind, ...options }` (parametric kinds need queryDim/keyDim) or a kind name. Default scaled-dot. */
  scorer?: ScorerLike;
  /** A Normalizer, a spec or a kind name. Default softmax. */
  normalizer?: NormalizerLike;
  /** Dropout probability on the weights while training, in [0, 1) (default 0). */
  dropout?: number;
  rng?: Rng;
}

/** The options of `SoftAttention.forward`: the attention options of every call (see `AttentionCallOptions`). */
export type SoftAttentionCallOptions = AttentionCallOptions;

/** `attend` as a module: holds a scorer (whose parameters train) and a normalizer. */
export class SoftAttention extends Module {
  readonly scorer: Scorer;
  readonly normalizer: Normalizer;
  readonly dropout: number;
  private readonly rng: Rng;

  constructor(options: SoftAttentionOptions = {}) {
    super();
    const op = 'SoftAttention';
    checkConfigObject(op, options, false, '{ scorer, normalizer, dropout, rng }', ['scorer', 'normalizer', 'dropout', 'rng']);
    this.scorer = resolveScorer(options.scorer, { op });
    this.normalizer = resolveNormalizer(options.normalizer, op);
    const dropout = options.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
      throw new ConfigError(
        `dropout must be a probability in [0, 1), got ${typeof dropout === 'string' ? JSON.stringify(dropout) : dropout}`,
        { op, argument: 'dropout' },
      );
    }
    this.dropout = dropout;
    this.rng = resolveRng(op, options.rng);
  }

  /** query [..., Lq, dq], keys [..., Lk, dk], values [..., Lk, dv] -> context [..., Lq, dv], weights [..., Lq, Lk] (null with needWeights false) */
  forward(
    query: Tensor,
    keys: Tensor,
    values: Tensor,
    options: SoftAttentionCallOptions & { needWeights: false },
  ): AttendResult & { weights: null };
  forward(
    query: Tensor,
    keys: Tensor,
    values: Tensor,
    options?: SoftAttentionCallOptions & { needWeights?: true },
  ): AttendResult & { weights: Tensor };
  forward(query: Tensor, keys: Tensor, values: Tensor, options?: SoftAttentionCallOptions): AttendResult;
  forward(query: Tensor, keys: Tensor, values: Tensor, options: SoftAttentionCallOptions = {}): AttendResult {
    const call = {
      op: 'SoftAttention.forward',
      query,
      keys,
      values,
      scorer: this.scorer,
      normalizer: this.normalizer,
      dropout: this.dropout,
      training: this.training,
    };
    return runAttention(planAttention(call, options), this.scorer, this.normalizer, this.rng);
  }
}
