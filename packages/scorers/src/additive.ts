import {
  add,
  Linear,
  linear,
  Module,
  Parameter,
  squeeze,
  tanh,
  uniformInit,
  unsqueeze,
  resolveRng,
  type Rng,
  type Tensor,
} from '@heed/tensor';
import { checkDim, checkOptions } from './check-dim';
import { checkScorerInputs } from './check-scorer-inputs';
import type { Scorer, ScorerDims } from './scorer';

export interface AdditiveScorerOptions extends ScorerDims {
  /** A, the size of the hidden layer (default: keyDim). */
  hiddenDim?: number;
  rng?: Rng;
}

/**
 * Bahdanau et al. 2015, "additive": score(q, k) = vᵀ tanh(W₁q + W₂k + b).
 * query [..., Lq, dq] x keys [..., Lk, dk] -> [..., Lq, Lk].
 * Parameters `W1.weight` [A, dq], `W2.weight` [A, dk], `b` [A], `v.weight` [1, A].
 */
export class AdditiveScorer extends Module implements Scorer {
  readonly kind = 'additive';
  readonly W1: Linear;
  readonly W2: Linear;
  readonly b: Parameter;
  readonly v: Linear;

  constructor(options: AdditiveScorerOptions) {
    super();
    checkOptions('AdditiveScorer', options, true);
    const queryDim = checkDim('AdditiveScorer', 'queryDim', options.queryDim);
    const keyDim = checkDim('AdditiveScorer', 'keyDim', options.keyDim ?? options.queryDim);
    const hiddenDim = checkDim('AdditiveScorer', 'hiddenDim', options.hiddenDim ?? keyDim);
    const rng = resolveRng('AdditiveScorer', options.rng);
    this.W1 = new Linear(queryDim, hiddenDim, { bias: false, rng });
    this.W2 = new Linear(keyDim, hiddenDim, { bias: false, rng });
    this.b = new Parameter(new Float32Array(hiddenDim), [hiddenDim]);
    uniformInit(this.b, -1 / Math.sqrt(hiddenDim), 1 / Math.sqrt(hiddenDim), rng);
    this.v = new Linear(hiddenDim, 1, { bias: false, rng });
  }

  /** [..., Lq, dq] x [..., Lk, dk] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    checkScorerInputs(this.kind, query, keys, { queryDim: this.W1.inFeatures, keyDim: this.W2.inFeatures });
    const q = unsqueeze(linear(query, this.W1.weight, this.b), -2); // [..., Lq, dq] -> [..., Lq, 1, A]
    const k = unsqueeze(linear(keys, this.W2.weight), -3); // [..., Lk, dk] -> [..., 1, Lk, A]
    const hidden = tanh(add(q, k)); // [..., Lq, Lk, A]
    return squeeze(this.v.forward(hidden), -1); // [..., Lq, Lk, 1] -> [..., Lq, Lk]
  }
}
