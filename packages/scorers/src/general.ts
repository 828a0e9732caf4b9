import { resolveRng, Linear, linear, matmul, Module, type Rng, type Tensor } from '@heed/tensor';
import { checkDim, checkOptions } from './check-dim';
import { checkScorerInputs } from './check-scorer-inputs';
import type { Scorer, ScorerDims } from './scorer';

export interface GeneralScorerOptions extends ScorerDims {
  rng?: Rng;
}

/**
 * Luong et al. 2015, "general" (bilinear): score(q, k) = qᵀ W k with W [dq, dk], so dq ≠ dk is allowed.
 * query [..., Lq, dq] x keys [..., Lk, dk] -> [..., Lq, Lk].
 * Parameter `W.weight` [dq, dk] (PyTorch: `nn.Linear(dk, dq, bias=False)` applied to the keys).
 */
export class GeneralScorer extends Module implements Scorer {
  readonly kind = 'general';
  readonly W: Linear;

  constructor(options: GeneralScorerOptions) {
    super();
    checkOptions('GeneralScorer', options, true);
    const rng = resolveRng('GeneralScorer', options.rng);
    const queryDim = checkDim('GeneralScorer', 'queryDim', options.queryDim);
    const keyDim = checkDim('GeneralScorer', 'keyDim', options.keyDim ?? options.queryDim);
    this.W = new Linear(keyDim, queryDim, { bias: false, rng });
  }

  /** [..., Lq, dq] x [..., Lk, dk] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    checkScorerInputs(this.kind, query, keys, { queryDim: this.W.outFeatures, keyDim: this.W.inFeatures });
    const projectedKeys = linear(keys, this.W.weight); // [..., Lk, dk] x [dk, dq] -> [..., Lk, dq]
    return matmul(query, projectedKeys, { transposeB: true }); // [..., Lq, dq] x [..., dq, Lk] -> [..., Lq, Lk]
  }
}
