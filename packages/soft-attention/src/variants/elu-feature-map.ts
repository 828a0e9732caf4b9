import { add, exp, neg, relu, type Tensor } from '@heed/tensor';

/**
 * φ(x) = elu(x) + 1 elementwise (Katharopoulos et al. 2020): x + 1 for x > 0, exp(x) otherwise; always > 0.
 * Written relu(x) + exp(−relu(−x)) so neither branch overflows. [...] -> [...]
 */
export function eluFeatureMap(x: Tensor): Tensor {
  return add(relu(x), exp(neg(relu(neg(x))))); // [...]
}
