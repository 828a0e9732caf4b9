import { arange, gradcheck, randn, Rng, sum } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { mergeHeads, repeatKeyValueHeads, splitHeads } from './split-heads';

describe('splitHeads / mergeHeads / repeatKeyValueHeads', () => {
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

  it('repeatKeyValueHeads: key/value head g serves query heads [g·G, (g+1)·G), gradients add up', () => {
    const kv = arange(2 * 2 * 3).reshape([1, 2, 2, 3]); // [B, Hkv, L, d]
    const repeated = repeatKeyValueHeads(kv, 3); // [B, 6, L, d]
    expect(repeated.shape).toEqual([1, 6, 2, 3]);
    for (let h = 0; h < 6; h++) expect(Array.from(repeated.data.subarray(h * 6, (h + 1) * 6))).toEqual(Array.from(kv.data.subarray(Math.floor(h / 3) * 6, (Math.floor(h / 3) + 1) * 6)));
    expect(repeatKeyValueHeads(kv, 1)).toBe(kv);
    const result = gradcheck((t) => sum(repeatKeyValueHeads(t, 2).mul(repeatKeyValueHeads(t, 2))), [randn([1, 2, 2, 2], new Rng(0))]);
    expect(result.ok).toBe(true);
  });
});
