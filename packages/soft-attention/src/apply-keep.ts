import { broadcastShapes, formatShape, sameShape, ShapeError, where, type Tensor } from '@heed/tensor';

/**
 * scores where keep is true, −∞ elsewhere: [..., Lk] with keep broadcastable to it -> [..., Lk].
 * No gradient reaches the masked entries.
 */
export function applyKeep(scores: Tensor, keep: Tensor | null | undefined, op: string): Tensor {
  if (!keep) return scores;
  const joint = broadcastShapes(scores.shape, keep.shape, op, ['scores', 'keep']);
  if (!sameShape(joint, scores.shape)) {
    throw new ShapeError(`keep mask ${formatShape(keep.shape)} does not broadcast to scores ${formatShape(scores.shape)}`, {
      op,
      argument: 'keep',
      shapes: { scores: scores.shape, keep: keep.shape },
    });
  }
  return where(keep, scores, -Infinity); // [..., Lk]
}
