import { ConfigError, Module, type Tensor } from '@heed/tensor';
import type { Scorer, ScorerSpec } from '@heed/scorers';
import { resolveScorer } from '../resolve-scorer';
import { checkCap, softcap } from './softcap';

/**
 * score(q, k) = cap · tanh(inner(q, k) / cap): the inner scorer's scores, soft-capped (Gemma 2 caps
 * the scaled logits at 50). query [..., Lq, dq] x keys [..., Lk, dk] -> [..., Lq, Lk].
 */
export class SoftcapScorer extends Module implements Scorer {
  readonly kind = 'softcap';
  readonly inner: Scorer;

  constructor(
    readonly cap: number,
    options: { inner?: Scorer | ScorerSpec } = {},
  ) {
    super();
    checkCap('SoftcapScorer', cap, ConfigError);
    this.inner = resolveScorer(options.inner, { op: 'SoftcapScorer' });
  }

  /** [..., Lq, dq] x [..., Lk, dk] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    return softcap(this.inner.score(query, keys), this.cap); // [..., Lq, Lk]
  }
}
