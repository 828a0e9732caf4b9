import { checkConfigObject, div, type Tensor } from '@heed/tensor';
import { applyKeep } from './apply-keep';
import { checkTemperature } from './check-temperature';
import { entmax15 } from './entmax15';
import { normalizerBrand, type Normalizer } from './normalizer';

/**
 * 1.5-entmax normalizer (Peters, Niculae & Martins 2019): between softmax and sparsemax.
 * [..., Lk] -> [..., Lk]; `temperature` divides the scores first (default 1).
 */
export class Entmax15 implements Normalizer {
  readonly kind = 'entmax15';
  readonly [normalizerBrand] = true as const;
  readonly temperature: number;

  constructor(options: { temperature?: number } = {}) {
    checkConfigObject('Entmax15', options, false, '{ temperature }', ['temperature']);
    this.temperature = checkTemperature('Entmax15', options.temperature ?? 1);
  }

  /** [..., Lk] -> [..., Lk] */
  normalize(scores: Tensor, keep?: Tensor | null): Tensor {
    const tempered = this.temperature === 1 ? scores : div(scores, this.temperature); // [..., Lk]
    return entmax15(applyKeep(tempered, keep, 'Entmax15.normalize')); // [..., Lk]
  }
}
