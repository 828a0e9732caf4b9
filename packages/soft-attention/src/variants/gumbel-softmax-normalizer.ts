import { checkConfigObject, ConfigError, defaultRng, type Rng, type Tensor } from '@heed/tensor';
import { applyKeep } from '../apply-keep';
import { checkTemperature } from '../check-temperature';
import type { Normalizer } from '../normalizer';
import { straightThroughGumbelSoftmax } from './gumbel-softmax';

export interface GumbelSoftmaxNormalizerOptions {
  /** τ of the backward surrogate (default 1). */
  temperature?: number;
  /** Generator for the noise (default: the shared default generator); a seeded one makes the picks reproducible. */
  rng?: Rng;
}

/**
 * Hard attention as a normalizer: each query attends exactly one key, sampled by the Gumbel-max trick,
 * trained through the straight-through softmax(· / τ) surrogate. [..., Lk] -> one-hot [..., Lk].
 */
export class GumbelSoftmax implements Normalizer {
  readonly kind = 'gumbel-softmax';
  readonly temperature: number;
  readonly rng: Rng;

  constructor(options: GumbelSoftmaxNormalizerOptions = {}) {
    checkConfigObject('GumbelSoftmax', options, false, '{ temperature, rng }', ['temperature', 'rng']);
    this.temperature = checkTemperature('GumbelSoftmax', options.temperature ?? 1);
    if (options.rng !== undefined && typeof options.rng?.uniform !== 'function')
      throw new ConfigError('rng must be an Rng', { op: 'GumbelSoftmax', argument: 'rng' });
    this.rng = options.rng ?? defaultRng();
  }

  /** [..., Lk] -> [..., Lk] */
  normalize(scores: Tensor, keep?: Tensor | null): Tensor {
    return straightThroughGumbelSoftmax(applyKeep(scores, keep, 'GumbelSoftmax.normalize'), {
      temperature: this.temperature,
      rng: this.rng,
    }); // [..., Lk]
  }
}
