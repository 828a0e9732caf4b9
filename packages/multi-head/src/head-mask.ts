import { concat, formatShape, full, reshape, ShapeError, type Tensor } from '@heed/tensor';

// Shape letters: B batch, H query heads, Lq queries, Lk keys.

export interface HeadMaskDims {
  batchSize: number;
  numHeads: number;
  queryLength: number;
  keyLength: number;
}

/**
 * A per-head mask (keep-mask or additive) as rank 4, broadcastable to [B, H, Lq, Lk]:
 * [Lq, Lk] -> [1, 1, Lq, Lk]; [B, Lq, Lk] -> [B, 1, Lq, Lk]; [B, H, Lq, Lk] as is (B, H and Lq may be 1).
 * Anything else is refused with a ShapeError naming the mask and the accepted shapes.
 */
export function toHeadMask(mask: Tensor, dims: HeadMaskDims, op: string, argument: string): Tensor {
  const { batchSize: B, numHeads: H, queryLength: Lq, keyLength: Lk } = dims;
  const s = mask.shape;
  const tail = (s[s.length - 2] === Lq || s[s.length - 2] === 1) && s[s.length - 1] === Lk;
  const fitsB = (d: number | undefined) => d === B || d === 1;
  const fitsH = (d: number | undefined) => d === H || d === 1;
  if (tail && s.length === 2) return reshape(mask, [1, 1, s[0]!, Lk]); // [Lq, Lk] -> [1, 1, Lq, Lk]
  if (tail && s.length === 3 && fitsB(s[0])) return reshape(mask, [s[0]!, 1, s[1]!, Lk]); // [B, Lq, Lk] -> [B, 1, Lq, Lk]
  if (tail && s.length === 4 && fitsB(s[0]) && fitsH(s[1])) return mask; // [B, H, Lq, Lk]
  throw new ShapeError(
    `${argument} ${formatShape(s)} must be [Lq, Lk] = [${Lq}, ${Lk}], [B, Lq, Lk] = [${B}, ${Lq}, ${Lk}] or [B, H, Lq, Lk] = [${B}, ${H}, ${Lq}, ${Lk}] (B, H and Lq may be 1)`,
    { op, argument, shapes: { [argument]: s, expected: [B, H, Lq, Lk] } },
  );
}

/** A key-padding keep-mask [B, Lk] as [B, 1, 1, Lk]; refuses any other shape, naming it. */
export function keyPaddingToHeadMask(mask: Tensor, dims: HeadMaskDims, op: string): Tensor {
  const { batchSize: B, keyLength: Lk } = dims;
  if (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== Lk) {
    throw new ShapeError(`keyPaddingMask ${formatShape(mask.shape)} must be [B, Lk] = [${B}, ${Lk}] (one entry per key the queries see, cached keys included)`, {
      op,
      argument: 'keyPaddingMask',
      shapes: { keyPaddingMask: mask.shape, expected: [B, Lk] },
    });
  }
  return reshape(mask, [B, 1, 1, Lk]); // [B, Lk] -> [B, 1, 1, Lk]
}

/** Appends `count` key columns holding `fill` (the always-visible bias/zero keys): [..., Lk] -> [..., Lk + count]. */
export function padKeys(mask: Tensor, count: number, fill: number): Tensor {
  if (count === 0) return mask;
  const extra = full([...mask.shape.slice(0, -1), count], fill); // [..., count]
  return concat([mask, extra], -1); // [..., Lk] ++ [..., count] -> [..., Lk + count]
}
