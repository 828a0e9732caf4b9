import {
  add,
  ArgumentError,
  concat,
  div,
  expectTensor,
  formatShape,
  matmul,
  ShapeError,
  slice,
  sum,
  type Tensor,
  where,
  checkFiniteInput,
} from '@heed/tensor';
import { causalMask } from '../masks';
import { causalLinearAttention } from './causal-linear-attention';
import { eluFeatureMap } from './elu-feature-map';
import { queryFeatures } from './query-features';
import { refuseUnderflow } from './refuse-underflow';

// Shape letters: Lq queries, Lk keys, d query/key size, dv value size, ... leading dims (B, H).

export interface LinearAttentionOptions {
  /** Query i sees keys j ≤ i (needs Lq = Lk); default false. */
  causal?: boolean;
}

/**
 * Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs") with φ = elu + 1:
 *   out_i = φ(q_i)ᵀ Σ_j φ(k_j) v_jᵀ / φ(q_i)ᵀ Σ_j φ(k_j)
 * (j ≤ i when causal). query [..., Lq, d], keys [..., Lk, d], values [..., Lk, dv] -> [..., Lq, dv], in
 * O(L·d·dv) time and O(d·dv) memory per row, never the Lq×Lk matrix (causal on a device: by chunks of C = 64
 * positions, a C×C product each). No 1/√d, no softmax, no ε.
 */
export function linearAttention(query: Tensor, keys: Tensor, values: Tensor, options: LinearAttentionOptions = {}): Tensor {
  checkLinearAttentionInputs('linearAttention', query, keys, values, optionsOf('linearAttention', options).causal ?? false);
  const phiQuery = queryFeatures(query); // [..., Lq, d], largest entry 1 per row (the output does not change)
  const phiKey = eluFeatureMap(keys); // [..., Lk, d]
  if (options.causal) {
    const causal = query.device === 'cpu' ? causalLinearAttention(phiQuery, phiKey, values) : causalByChunks(phiQuery, phiKey, values);
    return refuseUnderflow('linearAttention', causal); // [..., L, dv]
  }
  const keyValue = matmul(phiKey, values, { transposeA: true }); // [..., d, Lk] x [..., Lk, dv] -> [..., d, dv]
  const keySum = sum(phiKey, -2, true); // [..., 1, d]
  const numerator = matmul(phiQuery, keyValue); // [..., Lq, d] x [..., d, dv] -> [..., Lq, dv]
  const denominator = matmul(phiQuery, keySum, { transposeB: true }); // [..., Lq, d] x [..., d, 1] -> [..., Lq, 1]
  return refuseUnderflow('linearAttention', div(numerator, denominator)); // [..., Lq, dv]
}

/** Positions per chunk of causal linear attention on a device. */
const CHUNK = 64;

/**
 * Causal linear attention from tensor ops, for a device (causalLinearAttention's prefix sums are host loops): chunk by
 * chunk of C positions, the state of the earlier chunks, S = Σ φk_j v_jᵀ [..., d, dv] and z = Σ φk_j [..., 1, d], plus
 * the masked C×C product within the chunk:
 *   out_i = (φq_iᵀ S + Σ_{start ≤ j ≤ i} (φq_i·φk_j) v_j) / (φq_i·z + Σ_{start ≤ j ≤ i} φq_i·φk_j).
 * phiQuery [..., L, d], phiKey [..., L, d], values [..., L, dv] -> [..., L, dv]; never an L×L matrix.
 */
function causalByChunks(phiQuery: Tensor, phiKey: Tensor, values: Tensor): Tensor {
  const L = phiQuery.shape[phiQuery.rank - 2]!;
  const outputs: Tensor[] = [];
  let state: Tensor | null = null; // S   [..., d, dv]
  let keySum: Tensor | null = null; // z   [..., 1, d]
  for (let start = 0; start < L; start += CHUNK) {
    const end = Math.min(L, start + CHUNK);
    const [q, k, v] = [slice(phiQuery, -2, start, end), slice(phiKey, -2, start, end), slice(values, -2, start, end)]; // [..., C, d], [..., C, d], [..., C, dv]
    const within = where(causalMask(end - start, end - start), matmul(q, k, { transposeB: true }), 0); // [..., C, d] x [..., d, C] -> [..., C, C], 0 for j > i
    let numerator = matmul(within, v); // [..., C, C] x [..., C, dv] -> [..., C, dv]
    let denominator = sum(within, -1, true); // [..., C, 1]
    if (state !== null && keySum !== null) {
      numerator = add(numerator, matmul(q, state)); // [..., C, d] x [..., d, dv] -> [..., C, dv]
      denominator = add(denominator, matmul(q, keySum, { transposeB: true })); // [..., C, d] x [..., d, 1] -> [..., C, 1]
    }
    outputs.push(div(numerator, denominator)); // [..., C, dv]
    if (end < L) {
      const keyValue = matmul(k, v, { transposeA: true }); // [..., d, C] x [..., C, dv] -> [..., d, dv]
      const keys = sum(k, -2, true); // [..., 1, d]
      state = state === null ? keyValue : add(state, keyValue);
      keySum = keySum === null ? keys : add(keySum, keys);
    }
  }
  return outputs.length === 1 ? outputs[0]! : concat(outputs, -2); // [..., L, dv]
}

/** `options` if it is an object; an ArgumentError naming `op` otherwise. */
function optionsOf(op: string, options: LinearAttentionOptions): LinearAttentionOptions {
  if (typeof options === 'object' && options !== null) return options;
  throw new ArgumentError(`options must be an object { causal }, got ${String(options)}`, { op, argument: 'options' });
}

/**
 * The weights linear attention implies, for inspection: φ(q_i)·φ(k_j) / Σ_j' φ(q_i)·φ(k_j') (0 for
 * j > i when causal); rows sum to 1 and `weights · values` is `linearAttention`'s output. This one
 * builds the [..., Lq, Lk] matrix. query [..., Lq, d], keys [..., Lk, d] -> [..., Lq, Lk].
 */
export function linearAttentionWeights(query: Tensor, keys: Tensor, options: LinearAttentionOptions = {}): Tensor {
  checkLinearAttentionInputs('linearAttentionWeights', query, keys, null, optionsOf('linearAttentionWeights', options).causal ?? false);
  const similarity = matmul(queryFeatures(query), eluFeatureMap(keys), { transposeB: true }); // [..., Lq, Lk]
  const Lq = query.shape[query.rank - 2]!;
  const Lk = keys.shape[keys.rank - 2]!;
  const kept = options.causal ? where(causalMask(Lq, Lk), similarity, 0) : similarity; // [..., Lq, Lk]
  return refuseUnderflow('linearAttentionWeights', div(kept, sum(kept, -1, true))); // [..., Lq, Lk]
}

function checkLinearAttentionInputs(op: string, query: Tensor, keys: Tensor, values: Tensor | null, causal: boolean): void {
  expectTensor(op, 'query', query);
  expectTensor(op, 'keys', keys);
  if (values !== null) expectTensor(op, 'values', values);
  if (typeof causal !== 'boolean')
    throw new ArgumentError(`causal must be true or false, got ${String(causal)}`, { op, argument: 'causal' });
  const shapes = { query: query.shape, keys: keys.shape, ...(values ? { values: values.shape } : {}) };
  const lead = (t: Tensor) => t.shape.slice(0, -2).join(',');
  if (
    query.rank < 2 ||
    keys.rank !== query.rank ||
    lead(query) !== lead(keys) ||
    query.shape[query.rank - 1] !== keys.shape[keys.rank - 1]
  ) {
    throw new ShapeError(
      `query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)} must be [..., Lq, d] and [..., Lk, d] with the same leading dims and d`,
      { op, argument: 'keys', shapes },
    );
  }
  if (values && (values.rank !== keys.rank || values.shape.slice(0, -1).join(',') !== keys.shape.slice(0, -1).join(','))) {
    throw new ShapeError(`values ${formatShape(values.shape)} must be [..., Lk, dv] for keys ${formatShape(keys.shape)}`, {
      op,
      argument: 'values',
      shapes,
    });
  }
  if (causal && query.shape[query.rank - 2] !== keys.shape[keys.rank - 2]) {
    throw new ShapeError(
      `causal linear attention needs Lq = Lk (one sequence); got query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)} — decode step by step with LinearAttentionState`,
      { op, argument: 'causal', shapes },
    );
  }
  checkFiniteInput(op, 'query', query);
  checkFiniteInput(op, 'keys', keys);
  if (values) checkFiniteInput(op, 'values', values);
}
