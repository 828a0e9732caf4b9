import { div, matmul, maximum, Module, mul, sqrt, sum, type Tensor } from '@heed/tensor';
import { checkPositive } from './check-dim';
import { checkScorerInputs } from './check-scorer-inputs';
import type { Scorer } from './scorer';

export interface CosineScorerOptions {
  /** Divides the cosine (default 1); small temperatures sharpen the weights. */
  temperature?: number;
  /** Norms are clamped below at eps so zero vectors score 0 instead of NaN (default 1e-8). */
  eps?: number;
}

/**
 * Cosine similarity over a temperature: score(q, k) = (q · k) / (‖q‖ ‖k‖ T)
 * (Graves et al. 2014 content addressing; Luo et al. 2018 cosine normalization).
 * query [..., Lq, d] x keys [..., Lk, d] -> [..., Lq, Lk]; needs dq = dk. No parameters.
 */
export class CosineScorer extends Module implements Scorer {
  readonly kind = 'cosine';
  readonly temperature: number;
  readonly eps: number;

  constructor(options: CosineScorerOptions = {}) {
    super();
    this.temperature = checkPositive('CosineScorer', 'temperature', options.temperature ?? 1);
    this.eps = checkPositive('CosineScorer', 'eps', options.eps ?? 1e-8);
  }

  /** [..., Lq, d] x [..., Lk, d] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    checkScorerInputs(this.kind, query, keys, { sameDim: true });
    const unitQuery = div(query, this.norm(query)); // [..., Lq, d] / [..., Lq, 1]
    const unitKeys = div(keys, this.norm(keys)); // [..., Lk, d] / [..., Lk, 1]
    const cosine = matmul(unitQuery, unitKeys, { transposeB: true }); // [..., Lq, d] x [..., d, Lk] -> [..., Lq, Lk]
    return div(cosine, this.temperature); // [..., Lq, Lk]
  }

  /** max(‖x‖, eps) along the last axis, clamped before the square root so its gradient stays finite: [..., L, d] -> [..., L, 1] */
  private norm(x: Tensor): Tensor {
    return sqrt(maximum(sum(mul(x, x), -1, true), this.eps * this.eps));
  }
}
