import { ConfigError, div, type Tensor } from '@heed/tensor';
import { applyKeep } from '../apply-keep';
import { checkTemperature } from '../check-temperature';
import type { Normalizer } from '../normalizer';
import { alphaEntmax, checkAlpha } from './alpha-entmax';

export interface AlphaEntmaxOptions {
  /** α > 1: 1.5 is entmax15, 2 is sparsemax; near 1 it approaches softmax. */
  alpha: number;
  /** Divides the scores first (default 1). */
  temperature?: number;
}

/**
 * The α-entmax normalizer (Peters, Niculae & Martins 2019) for any α > 1, sparse for every α:
 * [..., Lk] -> [..., Lk]; masked keys get 0, a fully masked row is all 0.
 */
export class AlphaEntmax implements Normalizer {
  readonly kind = 'alpha-entmax';
  readonly alpha: number;
  readonly temperature: number;

  constructor(options: AlphaEntmaxOptions) {
    checkAlpha('AlphaEntmax', options?.alpha, ConfigError);
    this.alpha = options.alpha;
    this.temperature = checkTemperature('AlphaEntmax', options.temperature ?? 1);
  }

  /** [..., Lk] -> [..., Lk] */
  normalize(scores: Tensor, keep?: Tensor | null): Tensor {
    const tempered = this.temperature === 1 ? scores : div(scores, this.temperature); // [..., Lk]
    return alphaEntmax(applyKeep(tempered, keep, 'AlphaEntmax.normalize'), this.alpha); // [..., Lk]
  }
}
