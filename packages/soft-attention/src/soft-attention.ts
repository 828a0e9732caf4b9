import { defaultRng, Module, type Rng, type Tensor } from '@heed/tensor';
import type { Scorer, ScorerSpec } from '@heed/scorers';
import { attend, resolveScorer, type AttendImplementation, type AttendResult } from './attend';
import type { MaskLike } from './masks';
import type { Normalizer } from './normalizer';
import { resolveNormalizer, type NormalizerSpec } from './normalizer-registry';

export interface SoftAttentionOptions {
  /** A Scorer or a spec `{ kind, ...options }` (parametric kinds need queryDim/keyDim). Default scaled-dot. */
  scorer?: Scorer | ScorerSpec;
  /** A Normalizer or a spec. Default softmax. */
  normalizer?: Normalizer | NormalizerSpec;
  /** Dropout on the weights while training. */
  dropout?: number;
  rng?: Rng;
}

export interface SoftAttentionCallOptions {
  mask?: MaskLike;
  keyPaddingMask?: MaskLike;
  causal?: boolean;
  additiveMask?: Tensor;
  /** false: skip the weights (null) and let attention run on the fused O(L)-memory path when it can. */
  needWeights?: boolean;
  /** 'auto' (default), 'plain' or 'fused' — see `attend`. */
  implementation?: AttendImplementation;
}

/** `attend` as a module: holds a scorer (whose parameters train) and a normalizer. */
export class SoftAttention extends Module {
  readonly scorer: Scorer;
  readonly normalizer: Normalizer;
  readonly dropout: number;
  private readonly rng: Rng;

  constructor(options: SoftAttentionOptions = {}) {
    super();
    this.scorer = resolveScorer(options.scorer);
    this.normalizer = resolveNormalizer(options.normalizer);
    this.dropout = options.dropout ?? 0;
    this.rng = options.rng ?? defaultRng();
  }

  /** query [..., Lq, dq], keys [..., Lk, dk], values [..., Lk, dv] -> context [..., Lq, dv], weights [..., Lq, Lk] */
  forward(query: Tensor, keys: Tensor, values: Tensor, options: SoftAttentionCallOptions & { needWeights: false }): AttendResult & { weights: null };
  forward(query: Tensor, keys: Tensor, values: Tensor, options?: SoftAttentionCallOptions & { needWeights?: true }): AttendResult & { weights: Tensor };
  forward(query: Tensor, keys: Tensor, values: Tensor, options?: SoftAttentionCallOptions): AttendResult;
  forward(query: Tensor, keys: Tensor, values: Tensor, options: SoftAttentionCallOptions = {}): AttendResult {
    return attend({ query, keys, values, scorer: this.scorer, normalizer: this.normalizer, dropout: this.dropout, rng: this.rng, training: this.training, ...options });
  }
}
