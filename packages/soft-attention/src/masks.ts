import {
  ArgumentError,
  broadcastShapes,
  describeValue,
  formatShape,
  mul,
  sameShape,
  ShapeError,
  Tensor,
  tensor,
  type NestedArray,
} from '@heed/tensor';

// Masks keep: 1 (true) = may attend, 0 (false) = may not. Everywhere in heed.

/** A keep-mask given as a tensor of 0/1 or as nested booleans. */
export type MaskLike = Tensor | NestedArray;

/** A keep-mask as a tensor of 0/1 (any non-zero counts as keep). */
export function toMask(mask: MaskLike): Tensor {
  if (!(mask instanceof Tensor) && !Array.isArray(mask) && !ArrayBuffer.isView(mask)) {
    // A string of the right length would otherwise read as NaN, i.e. all-keep.
    throw new ArgumentError(`mask must be a Tensor or nested arrays of 0/1 or booleans, got ${describeValue(mask)}`, {
      op: 'toMask',
      argument: 'mask',
    });
  }
  const t = mask instanceof Tensor ? mask : tensor(mask);
  if (t.requiresGrad) return t.detach();
  return t;
}

/**
 * Causal keep-mask [Lq, Lk]: query i may attend key j when j ≤ i + offset. Offset 0 (the default) is
 * top-left aligned; `align: 'bottom-right'` is offset Lk − Lq (the last query sees every key, as when
 * decoding with a cache). The attention calls take `causal: { offset }` as an index rule instead.
 */
export function causalMask(
  queryLength: number,
  keyLength: number,
  options: { align?: 'top-left' | 'bottom-right'; offset?: number } = {},
): Tensor {
  for (const [name, v] of [
    ['queryLength', queryLength],
    ['keyLength', keyLength],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new ArgumentError(`${name} must be a non-negative integer, got ${v}`, { op: 'causalMask', argument: name });
  }
  if (options.offset !== undefined && !Number.isInteger(options.offset)) {
    throw new ArgumentError(`offset must be an integer, got ${options.offset}`, { op: 'causalMask', argument: 'offset' });
  }
  const offset = options.offset ?? (options.align === 'bottom-right' ? keyLength - queryLength : 0);
  const data = new Float32Array(queryLength * keyLength);
  for (let i = 0; i < queryLength; i++) for (let j = 0; j < keyLength && j <= i + offset; j++) data[i * keyLength + j] = 1;
  return new Tensor(data, [queryLength, keyLength]);
}

/** Key-padding keep-mask [B, Lk] (1 = real key, 0 = padding) as a [B, 1, Lk] mask over queries. */
export function keyPaddingToMask(keyPaddingMask: MaskLike): Tensor {
  const t = toMask(keyPaddingMask);
  if (t.rank !== 2) {
    throw new ShapeError(`keyPaddingMask must be [B, Lk], got ${formatShape(t.shape)}`, {
      op: 'keyPaddingToMask',
      argument: 'keyPaddingMask',
      shapes: { keyPaddingMask: t.shape },
    });
  }
  return t.reshape([t.shape[0]!, 1, t.shape[1]!]); // [B, Lk] -> [B, 1, Lk]
}

/** Keep-mask [B, L] from sequence lengths: position j of row b is kept when j < lengths[b]. */
export function lengthsToMask(lengths: ArrayLike<number>, maxLength: number): Tensor {
  if (!Number.isInteger(maxLength) || maxLength < 0) {
    throw new ArgumentError(`maxLength must be a non-negative integer, got ${describeValue(maxLength)}`, {
      op: 'lengthsToMask',
      argument: 'maxLength',
    });
  }
  if (!Array.isArray(lengths) && !ArrayBuffer.isView(lengths)) {
    throw new ArgumentError(`lengths must be an array of integers, got ${describeValue(lengths)}`, {
      op: 'lengthsToMask',
      argument: 'lengths',
    });
  }
  const data = new Float32Array(lengths.length * maxLength);
  for (let b = 0; b < lengths.length; b++) {
    const n = lengths[b]!;
    if (!Number.isInteger(n) || n < 0 || n > maxLength) {
      throw new ArgumentError(`lengths[${b}] = ${n} is not an integer in [0, ${maxLength}]`, { op: 'lengthsToMask', argument: 'lengths' });
    }
    data.fill(1, b * maxLength, b * maxLength + n);
  }
  return new Tensor(data, [lengths.length, maxLength]);
}

/** Logical AND of keep-masks (broadcasting); null when none is given. */
export function combineMasks(...masks: (Tensor | null | undefined)[]): Tensor | null {
  let out: Tensor | null = null;
  for (const m of masks) if (m) out = out ? mul(out, m) : m;
  return out;
}

/** Throws a ShapeError unless `mask` broadcasts to `target`. */
export function checkMaskShape(mask: Tensor, target: readonly number[], op: string, argument: string): void {
  let fits = true;
  try {
    fits = sameShape(broadcastShapes(target, mask.shape, op, ['scores', argument]), target);
  } catch {
    fits = false;
  }
  if (!fits) {
    throw new ShapeError(`${argument} ${formatShape(mask.shape)} does not broadcast to the scores ${formatShape(target)}`, {
      op,
      argument,
      shapes: { [argument]: mask.shape, scores: target },
    });
  }
}
