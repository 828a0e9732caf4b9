import {
  broadcastTo,
  concat,
  ConfigError,
  resolveRng,
  formatShape,
  Module,
  normalInit,
  Parameter,
  reshape,
  type Rng,
  ShapeError,
  slice,
  softmax,
  type Tensor,
} from '@heed/tensor';
import { applyKeep } from '../apply-keep';
import type { FusedNormalizer, Normalizer } from '../normalizer';

// Shape letters: H heads, Lq queries, Lk keys, ... leading dims (B).

export interface SoftmaxWithSinksOptions {
  numHeads: number;
  /** Initial sink logits: 'zeros' (default) or 'normal' N(0, 1) from `rng`. */
  init?: 'zeros' | 'normal';
  rng?: Rng;
}

/**
 * Softmax with attention sinks (OpenAI gpt-oss): each head h has a learned logit s_h that joins the
 * softmax denominator but carries no value,
 *   w_ij = exp(x_ij) / (exp(s_h) + Σ_k exp(x_ik)),  sink_i = 1 − Σ_j w_ij.
 * scores [..., H, Lq, Lk] -> weights [..., H, Lq, Lk] whose rows sum to less than 1. A row with every
 * key masked is all 0 (the sink takes the mass), never NaN. Parameter `sinks` [H].
 */
export class SoftmaxWithSinks extends Module implements Normalizer {
  readonly kind = 'softmax-sinks';
  readonly numHeads: number;
  /** [H] */
  readonly sinks: Parameter;

  constructor(options: SoftmaxWithSinksOptions) {
    super();
    const numHeads = options?.numHeads;
    if (!Number.isInteger(numHeads) || numHeads < 1)
      throw new ConfigError(`numHeads must be a positive integer, got ${numHeads}`, { op: 'SoftmaxWithSinks', argument: 'numHeads' });
    if (options.init !== undefined && options.init !== 'zeros' && options.init !== 'normal') {
      throw new ConfigError(`init must be 'zeros' or 'normal', got ${JSON.stringify(options.init)}`, {
        op: 'SoftmaxWithSinks',
        argument: 'init',
      });
    }
    this.numHeads = numHeads;
    this.sinks = new Parameter(new Float32Array(numHeads), [numHeads]);
    const rng = resolveRng('SoftmaxWithSinks', options.rng);
    if (options.init === 'normal') normalInit(this.sinks, 0, 1, rng);
  }

  /** [..., H, Lq, Lk] -> [..., H, Lq, Lk] */
  normalize(scores: Tensor, keep?: Tensor | null): Tensor {
    return this.normalizeWithSink(scores, keep).weights;
  }

  /** The fused kernels' softmax with the sinks in the denominator (null for a subclass that changes `normalize`). */
  fusedNormalizer(): FusedNormalizer | null {
    return keepsNormalize(this) ? { kind: 'softmax', temperature: 1, sinks: this.sinks } : null;
  }

  /** The weights over the keys [..., H, Lq, Lk] and the sink's weight [..., H, Lq, 1]. */
  normalizeWithSink(scores: Tensor, keep?: Tensor | null): { weights: Tensor; sinkWeight: Tensor } {
    const H = this.numHeads;
    if (scores.rank < 3 || scores.shape[scores.rank - 3] !== H) {
      throw new ShapeError(`scores ${formatShape(scores.shape)} must be [..., H, Lq, Lk] with H = ${H} heads (one sink per head)`, {
        op: 'SoftmaxWithSinks.normalize',
        argument: 'scores',
        shapes: { scores: scores.shape, sinks: this.sinks.shape },
      });
    }
    const Lk = scores.shape[scores.rank - 1]!;
    const kept = applyKeep(scores, keep, 'SoftmaxWithSinks.normalize'); // [..., H, Lq, Lk], −∞ where masked
    const sinkColumn = broadcastTo(reshape(this.sinks, [H, 1, 1]), [...scores.shape.slice(0, -1), 1]); // [H, 1, 1] -> [..., H, Lq, 1]
    const all = softmax(concat([kept, sinkColumn], -1), -1); // [..., H, Lq, Lk + 1]
    return { weights: slice(all, -1, 0, Lk), sinkWeight: slice(all, -1, Lk) }; // [..., H, Lq, Lk], [..., H, Lq, 1]
  }
}

/** Whether a SoftmaxWithSinks still computes `normalize` as this class does (a subclass may change it). */
function keepsNormalize(normalizer: SoftmaxWithSinks): boolean {
  return normalizer.normalize === SoftmaxWithSinks.prototype.normalize;
}
