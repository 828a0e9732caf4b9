import { resolveRng, add, Linear, linear, Module, slice, squeeze, tanh, unsqueeze, type Rng, type Tensor } from '@heed/tensor';
import { checkDim, checkOptions } from './check-dim';
import { checkScorerInputs } from './check-scorer-inputs';
import type { Scorer, ScorerDims } from './scorer';

export interface ConcatScorerOptions extends ScorerDims {
  /** A, the size of the hidden layer (default: keyDim). */
  hiddenDim?: number;
  rng?: Rng;
}

/**
 * Luong et al. 2015, "concat": score(q, k) = vᵀ tanh(W [q; k]).
 * query [..., Lq, dq] x keys [..., Lk, dk] -> [..., Lq, Lk].
 * Parameters `W.weight` [A, dq + dk] (query columns first) and `v.weight` [1, A]; no biases.
 * Computed as W[q; k] = W_q q + W_k k, so the [Lq·Lk, dq + dk] concatenation is never built.
 */
export class ConcatScorer extends Module implements Scorer {
  readonly kind = 'concat';
  readonly W: Linear;
  readonly v: Linear;
  readonly queryDim: number;

  constructor(options: ConcatScorerOptions) {
    super();
    checkOptions('ConcatScorer', options, true);
    const rng = resolveRng('ConcatScorer', options.rng);
    this.queryDim = checkDim('ConcatScorer', 'queryDim', options.queryDim);
    const keyDim = checkDim('ConcatScorer', 'keyDim', options.keyDim ?? options.queryDim);
    const hiddenDim = checkDim('ConcatScorer', 'hiddenDim', options.hiddenDim ?? keyDim);
    this.W = new Linear(this.queryDim + keyDim, hiddenDim, { bias: false, rng });
    this.v = new Linear(hiddenDim, 1, { bias: false, rng });
  }

  /** [..., Lq, dq] x [..., Lk, dk] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    const dq = this.queryDim;
    checkScorerInputs(this.kind, query, keys, { queryDim: dq, keyDim: this.W.inFeatures - dq });
    const Wq = slice(this.W.weight, 1, 0, dq); // [A, dq]
    const Wk = slice(this.W.weight, 1, dq); // [A, dk]
    const q = unsqueeze(linear(query, Wq), -2); // [..., Lq, dq] -> [..., Lq, 1, A]
    const k = unsqueeze(linear(keys, Wk), -3); // [..., Lk, dk] -> [..., 1, Lk, A]
    const hidden = tanh(add(q, k)); // [..., Lq, Lk, A]
    return squeeze(this.v.forward(hidden), -1); // [..., Lq, Lk, 1] -> [..., Lq, Lk]
  }
}
