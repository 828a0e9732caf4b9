import { tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { causalMask, combineMasks, keyPaddingToMask, lengthsToMask, toMask } from './masks';

describe('masks (1 = may attend)', () => {
  it('causal, top-left aligned: query i sees keys j ≤ i', () => {
    expect(causalMask(3, 4).toArray()).toEqual([
      [1, 0, 0, 0],
      [1, 1, 0, 0],
      [1, 1, 1, 0],
    ]);
  });

  it('causal, bottom-right aligned: the last query sees every key', () => {
    expect(causalMask(2, 4, { align: 'bottom-right' }).toArray()).toEqual([
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ]);
  });

  it('causal with an offset: query i sees keys j ≤ i + offset (negative offsets hide more)', () => {
    expect(causalMask(2, 4, { offset: 1 }).toArray()).toEqual([
      [1, 1, 0, 0],
      [1, 1, 1, 0],
    ]);
    expect(causalMask(2, 3, { offset: -1 }).toArray()).toEqual([
      [0, 0, 0],
      [1, 0, 0],
    ]);
    expect(() => causalMask(2, 3, { offset: 0.5 })).toThrow('causalMask: offset must be an integer, got 0.5');
  });

  it('key padding [B, Lk] becomes [B, 1, Lk]; lengths give a padding mask', () => {
    expect(keyPaddingToMask([[true, false]]).shape).toEqual([1, 1, 2]);
    expect(lengthsToMask([2, 0, 3], 3).toArray()).toEqual([
      [1, 1, 0],
      [0, 0, 0],
      [1, 1, 1],
    ]);
    expect(() => lengthsToMask([4], 3)).toThrow(/lengths\[0\] = 4/);
    expect(() => keyPaddingToMask(tensor([1, 0]))).toThrow(/must be \[B, Lk\], got \[2\]/);
  });

  it('combines by logical and, broadcasting', () => {
    const m = combineMasks(causalMask(2, 2), toMask([[[true, false]], [[false, true]]]));
    expect(m!.toArray()).toEqual([
      [
        [1, 0],
        [1, 0],
      ],
      [
        [0, 0],
        [0, 1],
      ],
    ]);
    expect(combineMasks(null, undefined)).toBeNull();
  });
});
