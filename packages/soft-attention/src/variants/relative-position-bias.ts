import {
  ConfigError,
  checkConfigObject,
  resolveRng,
  embedding,
  Module,
  normalInit,
  Parameter,
  permute,
  type Rng,
  Tensor,
} from '@heed/tensor';
import type { FusedBias, ScoreBias } from './biased-scorer';
import { checkBucketOptions, relativePositionBucket, type RelativePositionBucketOptions } from './relative-position-bucket';

export interface RelativePositionBiasOptions extends RelativePositionBucketOptions {
  numHeads: number;
  /** Generator for the initial table, N(0, 1) (default: the shared default generator). */
  rng?: Rng;
}

/**
 * T5's learned relative position bias (Raffel et al. 2020): bias[h, i, j] = table[bucket(j − i), h],
 * with the table `relative_attention_bias` [numBuckets, H] (Hugging Face's name, nn.Embedding layout).
 * -> [H, Lq, Lk]; gradients reach the table rows of the buckets used. T5 uses no 1/√d: pair it with
 * the `dot` scorer.
 */
export class RelativePositionBias extends Module implements ScoreBias {
  readonly kind = 'relative-position';
  readonly numHeads: number;
  readonly bidirectional: boolean;
  readonly numBuckets: number;
  readonly maxDistance: number;
  /** [numBuckets, H] */
  readonly relative_attention_bias: Parameter;

  constructor(options: RelativePositionBiasOptions) {
    super();
    checkConfigObject('RelativePositionBias', options, true, '{ numHeads, ... }', [
      'numHeads',
      'rng',
      'bidirectional',
      'numBuckets',
      'maxDistance',
    ]);
    const { numHeads } = options;
    if (!Number.isInteger(numHeads) || numHeads < 1)
      throw new ConfigError(`numHeads must be a positive integer, got ${numHeads}`, { op: 'RelativePositionBias', argument: 'numHeads' });
    ({
      bidirectional: this.bidirectional,
      numBuckets: this.numBuckets,
      maxDistance: this.maxDistance,
    } = checkBucketOptions('RelativePositionBias', options, ConfigError));
    const rng = resolveRng('RelativePositionBias', options.rng);
    this.numHeads = numHeads;
    this.relative_attention_bias = new Parameter(new Float32Array(this.numBuckets * numHeads), [this.numBuckets, numHeads]);
    normalInit(this.relative_attention_bias, 0, 1, rng);
  }

  /** The bucket of every (i, j): [Lq, Lk] (integers, no gradient). */
  buckets(queryLength: number, keyLength: number, queryOffset = 0): Tensor {
    const options = { bidirectional: this.bidirectional, numBuckets: this.numBuckets, maxDistance: this.maxDistance };
    const data = new Float32Array(queryLength * keyLength);
    for (let i = 0; i < queryLength; i++)
      for (let j = 0; j < keyLength; j++) data[i * keyLength + j] = relativePositionBucket(j - (i + queryOffset), options);
    return new Tensor(data, [queryLength, keyLength]);
  }

  /** -> [H, Lq, Lk] */
  bias(queryLength: number, keyLength: number, queryOffset = 0): Tensor {
    const rows = embedding(this.relative_attention_bias, this.buckets(queryLength, keyLength, queryOffset)); // [Lq, Lk] -> [Lq, Lk, H]
    return permute(rows, [2, 0, 1]); // [Lq, Lk, H] -> [H, Lq, Lk]
  }

  /** The bias by offset for the fused kernels: table[h, j − i + Lq − 1] = relative_attention_bias[bucket(j − i − queryOffset), h]. -> [H, Lq + Lk − 1] */
  fusedBias(queryLength: number, keyLength: number, queryOffset = 0): FusedBias {
    const options = { bidirectional: this.bidirectional, numBuckets: this.numBuckets, maxDistance: this.maxDistance };
    const offsets = queryLength + keyLength - 1;
    const buckets = Float32Array.from({ length: offsets }, (_, t) => relativePositionBucket(t - (queryLength - 1) - queryOffset, options)); // [Lq + Lk − 1]
    const rows = embedding(this.relative_attention_bias, new Tensor(buckets, [offsets])); // [Lq + Lk − 1] -> [Lq + Lk − 1, H]
    return { kind: 'relative', table: permute(rows, [1, 0]) }; // [Lq + Lk − 1, H] -> [H, Lq + Lk − 1]
  }
}
