import { abs, div, matmul, max, maximum, Module, mul, noGrad, sqrt, sum, Tensor, where } from '@heed/tensor';
import { checkOptions, checkPositive } from './check-dim';
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
    checkOptions('CosineScorer', options, false);
    this.temperature = checkPositive('CosineScorer', 'temperature', options.temperature ?? 1);
    this.eps = checkPositive('CosineScorer', 'eps', options.eps ?? 1e-8);
  }

  /** [..., Lq, d] x [..., Lk, d] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    checkScorerInputs(this.kind, query, keys, { sameDim: true });
    const unitQuery = this.unit(query); // [..., Lq, d]
    const unitKeys = this.unit(keys); // [..., Lk, d]
    const cosine = matmul(unitQuery, unitKeys, { transposeB: true }); // [..., Lq, d] x [..., d, Lk] -> [..., Lq, Lk]
    return div(cosine, this.temperature); // [..., Lq, Lk]
  }

  /**
   * x / max(‖x‖, eps) along the last axis, [..., L, d] -> [..., L, d]. Each row is first divided by its
   * largest |x_i| (a constant c, so u = x / c has entries in [−1, 1] and ‖u‖² cannot overflow float32
   * even for x ≈ 1e38); then x / max(‖x‖, eps) = u / max(‖u‖, eps / c). The clamp sits before the square
   * root so its gradient stays finite, and holding c constant loses no gradient: u / ‖u‖ does not
   * change when u is scaled.
   */
  private unit(x: Tensor): Tensor {
    if (x.device !== 'cpu') return this.unitOnDevice(x);
    const d = x.shape[x.rank - 1]!;
    const rows = d === 0 ? 0 : x.size / d;
    const rowShape = [...x.shape.slice(0, -1), 1];
    const scale = new Float32Array(rows); // c = max_i |x_i|, 1 for a zero row   [..., L, 1]
    const floor = new Float32Array(rows); // (eps / c)², the clamp on ‖u‖²       [..., L, 1]
    for (let r = 0; r < rows; r++) {
      let c = 0;
      for (let i = r * d; i < (r + 1) * d; i++) c = Math.max(c, Math.abs(x.data[i]!));
      if (!(c > 0)) c = 1;
      scale[r] = c;
      floor[r] = (this.eps / c) ** 2;
    }
    const u = div(x, new Tensor(scale, rowShape)); // [..., L, d] / [..., L, 1]
    return div(u, sqrt(maximum(sum(mul(u, u), -1, true), new Tensor(floor, rowShape)))); // [..., L, d] / [..., L, 1]
  }

  /** `unit` where x lives on a device: c and the clamp computed there by ops (c held constant, as above). */
  private unitOnDevice(x: Tensor): Tensor {
    const [scale, floor] = noGrad(() => {
      const largest = max(abs(x), -1, true); // c = max_i |x_i|   [..., L, d] -> [..., L, 1]
      const c = where(largest, largest, 1); // 1 for a zero row   [..., L, 1]
      const ratio = div(this.eps, c); // eps / c   [..., L, 1]
      return [c, mul(ratio, ratio)]; // (eps / c)²   [..., L, 1]
    });
    const u = div(x, scale); // [..., L, d] / [..., L, 1]
    return div(u, sqrt(maximum(sum(mul(u, u), -1, true), floor))); // [..., L, d] / [..., L, 1]
  }
}
