import { tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { loadFixture, toHeed, torchMaskToKeep } from '../../../fixtures/load-fixture';
import { fromTorchMask } from './from-torch-mask';
import { MultiHeadAttention } from './multi-head-attention';

describe('fromTorchMask', () => {
  it("turns PyTorch's true = masked out into heed's 1 = may attend, same shape", () => {
    const keep = fromTorchMask([
      [true, false, false],
      [false, false, true],
    ]);
    expect(keep.shape).toEqual([2, 3]);
    expect(Array.from(keep.data)).toEqual([0, 1, 1, 1, 1, 0]);
    expect(Array.from(fromTorchMask(tensor([0, 2, 0])).data)).toEqual([1, 0, 1]);
  });

  it("agrees with the fixtures' own conversion, and gives PyTorch's numbers (mha_key_padding_and_attn_mask)", () => {
    const f = loadFixture('mha_key_padding_and_attn_mask');
    for (const name of ['key_padding_mask', 'attn_mask']) {
      expect(Array.from(fromTorchMask(toHeed(f.inputs[name]!)).data)).toEqual(Array.from(torchMaskToKeep(f.inputs[name]!).data));
    }
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    layer.loadTorchStateDict(Object.fromEntries(Object.entries(f.params).map(([k, v]) => [k, toHeed(v)])));
    const [query, key, value] = ['query', 'key', 'value'].map((n) => toHeed(f.inputs[n]!)) as [
      ReturnType<typeof toHeed>,
      ReturnType<typeof toHeed>,
      ReturnType<typeof toHeed>,
    ];
    const viaHelper = layer.forward(query, key, value, {
      keyPaddingMask: fromTorchMask(toHeed(f.inputs.key_padding_mask!)),
      attentionMask: fromTorchMask(toHeed(f.inputs.attn_mask!)),
    });
    const viaFixture = layer.forward(query, key, value, {
      keyPaddingMask: torchMaskToKeep(f.inputs.key_padding_mask!),
      attentionMask: torchMaskToKeep(f.inputs.attn_mask!),
    });
    expect(Array.from(viaHelper.output.data)).toEqual(Array.from(viaFixture.output.data));
  });
});
