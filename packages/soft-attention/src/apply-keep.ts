import { where, type Tensor } from '@heed/tensor';
import { checkMaskShape } from './masks';

/**
 * scores where keep is true, −∞ elsewhere: [..., Lk] with keep broadcastable to it -> [..., Lk].
 * No gradient reaches the masked entries.
 */
export function applyKeep(scores: Tensor, keep: Tensor | null | undefined, op: string): Tensor {
  if (!keep) return scores;
  checkMaskShape(keep, scores.shape, op, 'keep');
  return where(keep, scores, -Infinity); // [..., Lk]
}
