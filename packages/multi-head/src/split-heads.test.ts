import { arange } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { mergeHeads, splitHeads } from './split-heads';

describe('splitHeads / mergeHeads', () => {
  it('head h takes feature columns [h·d, (h+1)·d): [B, L, H·d] -> [B, H, L, d], and mergeHeads undoes it', () => {
    const x = arange(2 * 3 * 6).reshape([2, 3, 6]); // [B, L, H·d] with H = 3, d = 2
    const heads = splitHeads(x, 3);
    expect(heads.shape).toEqual([2, 3, 3, 2]);
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 3; h++)
        for (let l = 0; l < 3; l++)
          for (let c = 0; c < 2; c++) expect(heads.data[((b * 3 + h) * 3 + l) * 2 + c]).toBe(x.data[(b * 3 + l) * 6 + h * 2 + c]);
    expect(Array.from(mergeHeads(heads).data)).toEqual(Array.from(x.data));
  });
});
