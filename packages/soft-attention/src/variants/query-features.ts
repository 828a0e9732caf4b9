import { div, max, type Tensor } from '@heed/tensor';
import { eluFeatureMap } from './elu-feature-map';

/**
 * φ(q) = elu(q) + 1 divided by its largest entry per row, for linear attention's queries: the output
 * φ(q)ᵀS / φ(q)ᵀZ does not change when φ(q) is scaled (gradients neither), and with the largest entry at 1
 * the products φ(q)_a·Z_a stay in float32's range where φ(q) itself is tiny (q ≈ −80: φ ≈ 1.8e-35), as they
 * do in the causal pass's float64 sums. A row that underflows entirely (q below about −104) becomes 0/0 = NaN,
 * which the callers refuse. [..., L, d] -> [..., L, d]
 */
export function queryFeatures(query: Tensor): Tensor {
  const phiQuery = eluFeatureMap(query); // [..., L, d]
  return div(phiQuery, max(phiQuery, -1, true)); // [..., L, d] / [..., L, 1] -> [..., L, d]
}
