import { checkConfigObject, div, softmax, type Tensor } from '@heed/tensor';
import { applyKeep } from './apply-keep';
import { checkTemperature } from './check-temperature';
import { normalizerBrand, type FusedNormalizer, type Normalizer } from './normalizer';

export interface SoftmaxOptions {
  /** Divides the scores first (default 1): above 1 flattens the weights, below 1 sharpens them. */
  temperature?: number;
}

/**
 * softmax(z / T)_i = exp(z_i / T) / Σ_j exp(z_j / T), max-subtracted (finite for any finite logits).
 * [..., Lk] -> [..., Lk]; masked entries are 0 and a fully masked row is all 0.
 */
export class Softmax implements Normalizer {
  readonly kind = 'softmax';
  readonly [normalizerBrand] = true as const;
  readonly temperature: number;

  constructor(options: SoftmaxOptions = {}) {
    checkConfigObject('Softmax', options, false, '{ temperature }', ['temperature']);
    this.temperature = checkTemperature('Softmax', options.temperature ?? 1);
  }

  /** [..., Lk] -> [..., Lk] */
  normalize(scores: Tensor, keep?: Tensor | null): Tensor {
    const tempered = this.temperature === 1 ? scores : div(scores, this.temperature); // [..., Lk]
    return softmax(applyKeep(tempered, keep, 'Softmax.normalize'), -1); // [..., Lk]
  }

  /** softmax(z / T) is the fused kernel's normalizer (null for a subclass that changes `normalize`). */
  fusedNormalizer(): FusedNormalizer | null {
    return this.normalize === Softmax.prototype.normalize ? { kind: 'softmax', temperature: this.temperature } : null;
  }
}
