import { checkConfigObject, div, type Tensor } from '@heed/tensor';
import { applyKeep } from './apply-keep';
import { checkTemperature } from './check-temperature';
import { normalizerBrand, type Normalizer } from './normalizer';
import { sparsemax } from './sparsemax';

/**
 * Sparsemax normalizer (Martins & Astudillo 2016): weights with exact zeros.
 * [..., Lk] -> [..., Lk]; `temperature` divides the scores first (default 1).
 */
export class Sparsemax implements Normalizer {
  readonly kind = 'sparsemax';
  readonly [normalizerBrand] = true as const;
  readonly temperature: number;

  constructor(options: { temperature?: number } = {}) {
    checkConfigObject('Sparsemax', options, false, '{ temperature }', ['temperature']);
    this.temperature = checkTemperature('Sparsemax', options.temperature ?? 1);
  }

  /** [..., Lk] -> [..., Lk] */
  normalize(scores: Tensor, keep?: Tensor | null): Tensor {
    const tempered = this.temperature === 1 ? scores : div(scores, this.temperature); // [..., Lk]
    return sparsemax(applyKeep(tempered, keep, 'Sparsemax.normalize')); // [..., Lk]
  }
}
