import { ArgumentError } from '@heed/tensor';

export interface RelativePositionBucketOptions {
  /** Keys on both sides (encoder, default true): half the buckets for r > 0. False: every future key shares bucket 0. */
  bidirectional?: boolean;
  /** Buckets in all (default 32). */
  numBuckets?: number;
  /** Distances from here on share the last bucket (default 128). */
  maxDistance?: number;
}

/**
 * T5's bucket of a relative position r = j − i (key minus query), Raffel et al. 2020 / Mesh TensorFlow:
 * distances below n/2 get a bucket each, larger ones share logarithmically wider buckets up to
 * maxDistance, beyond which they share the last. n = numBuckets (halved when bidirectional, r > 0 then
 * offset by n). -> an integer in [0, numBuckets).
 */
export function relativePositionBucket(relativePosition: number, options: RelativePositionBucketOptions = {}): number {
  const { bidirectional, numBuckets, maxDistance } = checkBucketOptions('relativePositionBucket', options, ArgumentError);
  if (!Number.isInteger(relativePosition)) {
    throw new ArgumentError(`relativePosition must be an integer, got ${relativePosition}`, {
      op: 'relativePositionBucket',
      argument: 'relativePosition',
    });
  }
  let n = numBuckets;
  let offset = 0;
  let distance: number;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (relativePosition > 0) offset = n;
    distance = Math.abs(relativePosition);
  } else {
    distance = Math.max(-relativePosition, 0);
  }
  const maxExact = Math.floor(n / 2);
  if (distance < maxExact) return offset + distance;
  const logarithmic = maxExact + Math.trunc((Math.log(distance / maxExact) / Math.log(maxDistance / maxExact)) * (n - maxExact));
  return offset + Math.min(logarithmic, n - 1);
}

/** Checks the bucket options and fills in the defaults; fails with `Failure` (ArgumentError at a call, ConfigError in a constructor). */
export function checkBucketOptions(
  op: string,
  options: RelativePositionBucketOptions,
  Failure: typeof ArgumentError,
): Required<RelativePositionBucketOptions> {
  const bidirectional = options.bidirectional ?? true;
  const numBuckets = options.numBuckets ?? 32;
  const maxDistance = options.maxDistance ?? 128;
  const smallest = bidirectional ? 4 : 2;
  if (!Number.isInteger(numBuckets) || numBuckets < smallest) {
    throw new Failure(
      `numBuckets must be an integer ≥ ${smallest}${bidirectional ? ' (bidirectional halves them)' : ''}, got ${numBuckets}`,
      { op, argument: 'numBuckets' },
    );
  }
  const maxExact = Math.floor((bidirectional ? Math.floor(numBuckets / 2) : numBuckets) / 2);
  if (!Number.isFinite(maxDistance) || maxDistance <= maxExact) {
    throw new Failure(`maxDistance must be a number above the exact range (${maxExact}), got ${maxDistance}`, {
      op,
      argument: 'maxDistance',
    });
  }
  return { bidirectional, numBuckets, maxDistance };
}
