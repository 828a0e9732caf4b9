import { ShapeError, tensor, zeros } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { keyPaddingToHeadMask, padKeys, toHeadMask } from './head-mask';

const dims = { batchSize: 2, numHeads: 3, queryLength: 4, keyLength: 5 };

describe('toHeadMask / keyPaddingToHeadMask / padKeys', () => {
  it('lifts [Lq, Lk], [B, Lq, Lk] and [B, H, Lq, Lk] to rank 4, broadcastable to [B, H, Lq, Lk]', () => {
    expect(toHeadMask(zeros([4, 5]), dims, 'op', 'm').shape).toEqual([1, 1, 4, 5]);
    expect(toHeadMask(zeros([2, 4, 5]), dims, 'op', 'm').shape).toEqual([2, 1, 4, 5]);
    expect(toHeadMask(zeros([1, 1, 5]), dims, 'op', 'm').shape).toEqual([1, 1, 1, 5]);
    expect(toHeadMask(zeros([2, 3, 4, 5]), dims, 'op', 'm').shape).toEqual([2, 3, 4, 5]);
    expect(toHeadMask(zeros([1, 3, 1, 5]), dims, 'op', 'm').shape).toEqual([1, 3, 1, 5]);
  });

  it('refuses other shapes with a ShapeError naming the mask and the accepted shapes', () => {
    for (const shape of [[5], [4, 4], [3, 4, 5], [2, 2, 4, 5], [1, 2, 3, 4, 5]]) {
      const call = () => toHeadMask(zeros(shape), dims, 'layer.forward', 'attentionMask');
      expect(call).toThrow(ShapeError);
      expect(call).toThrow(`layer.forward: attentionMask [${shape.join(', ')}] must be [Lq, Lk] = [4, 5], [B, Lq, Lk] = [2, 4, 5] or [B, H, Lq, Lk] = [2, 3, 4, 5]`);
    }
    expect(keyPaddingToHeadMask(zeros([2, 5]), dims, 'op').shape).toEqual([2, 1, 1, 5]);
    expect(() => keyPaddingToHeadMask(zeros([2, 4]), dims, 'op')).toThrow('keyPaddingMask [2, 4] must be [B, Lk] = [2, 5]');
  });

  it('padKeys appends columns of the fill value', () => {
    const padded = padKeys(tensor([[1, 0], [0, 1]]), 2, 1);
    expect(padded.toArray()).toEqual([[1, 0, 1, 1], [0, 1, 1, 1]]);
    const m = tensor([[1, 0]]);
    expect(padKeys(m, 0, 1)).toBe(m);
  });
});
