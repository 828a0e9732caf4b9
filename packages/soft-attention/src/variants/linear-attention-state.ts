import { add, div, expectTensor, formatShape, matmul, ShapeError, type Tensor, checkFiniteInput } from '@heed/tensor';
import { eluFeatureMap } from './elu-feature-map';
import { queryFeatures } from './query-features';
import { refuseUnderflow } from './refuse-underflow';

// Shape letters: d query/key size, dv value size, ... leading dims (B, H).

/**
 * The recurrent form of causal linear attention, for decoding one position at a time in O(d·dv)
 * memory: S = Σ φ(k_j) v_jᵀ [..., d, dv] and Z = Σ φ(k_j) [..., 1, d] so far. `step` takes the new
 * position's query, key, value [..., 1, ·] and returns its output [..., 1, dv]; stepping through a
 * sequence gives exactly `linearAttention(q, k, v, { causal: true })`. Gradients flow through the state.
 */
export class LinearAttentionState {
  private keyValue: Tensor | null = null;
  private keySum: Tensor | null = null;
  private steps = 0;

  /** Positions seen so far. */
  get length(): number {
    return this.steps;
  }

  /** Forgets everything (a new sequence). */
  reset(): void {
    this.keyValue = null;
    this.keySum = null;
    this.steps = 0;
  }

  /** query [..., 1, d], key [..., 1, d], value [..., 1, dv] -> [..., 1, dv] */
  step(query: Tensor, key: Tensor, value: Tensor): Tensor {
    const op = 'LinearAttentionState.step';
    expectTensor(op, 'query', query);
    expectTensor(op, 'key', key);
    expectTensor(op, 'value', value);
    const shapes = { query: query.shape, key: key.shape, value: value.shape };
    const lead = (t: Tensor) => t.shape.slice(0, -2).join(',');
    const one = (t: Tensor) => t.rank >= 2 && t.shape[t.rank - 2] === 1;
    if (
      !one(query) ||
      !one(key) ||
      !one(value) ||
      lead(query) !== lead(key) ||
      lead(key) !== lead(value) ||
      query.shape[query.rank - 1] !== key.shape[key.rank - 1]
    ) {
      throw new ShapeError(
        `query ${formatShape(query.shape)}, key ${formatShape(key.shape)} and value ${formatShape(value.shape)} must be [..., 1, d], [..., 1, d] and [..., 1, dv]: one position`,
        { op, argument: 'query', shapes },
      );
    }
    if (
      this.keyValue &&
      (this.keyValue.shape.slice(0, -2).join(',') !== lead(key) ||
        this.keyValue.shape.at(-2) !== key.shape.at(-1) ||
        this.keyValue.shape.at(-1) !== value.shape.at(-1))
    ) {
      throw new ShapeError(
        `the state holds ${formatShape(this.keyValue.shape)} = [..., d, dv], got key ${formatShape(key.shape)} and value ${formatShape(value.shape)}; reset() for another shape`,
        { op, argument: 'key', shapes },
      );
    }
    checkFiniteInput(op, 'query', query);
    checkFiniteInput(op, 'key', key);
    checkFiniteInput(op, 'value', value);
    // The sums with this position, kept only once its output is known to be a number: a refused step changes nothing.
    const phiKey = eluFeatureMap(key); // [..., 1, d]
    const update = matmul(phiKey, value, { transposeA: true }); // [..., d, 1] x [..., 1, dv] -> [..., d, dv]
    const keyValue = this.keyValue ? add(this.keyValue, update) : update; // [..., d, dv]
    const keySum = this.keySum ? add(this.keySum, phiKey) : phiKey; // [..., 1, d]
    const phiQuery = queryFeatures(query); // [..., 1, d], largest entry 1, as the batch pass
    const numerator = matmul(phiQuery, keyValue); // [..., 1, d] x [..., d, dv] -> [..., 1, dv]
    const denominator = matmul(phiQuery, keySum, { transposeB: true }); // [..., 1, d] x [..., d, 1] -> [..., 1, 1]
    const output = refuseUnderflow(op, div(numerator, denominator)); // [..., 1, dv]
    this.keyValue = keyValue;
    this.keySum = keySum;
    this.steps += 1;
    return output;
  }
}
