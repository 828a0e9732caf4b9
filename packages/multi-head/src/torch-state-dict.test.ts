import { randn, Rng, StateDictError, type Tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { loadFixture, toHeed } from '../../../fixtures/load-fixture';
import { MultiHeadAttention } from './multi-head-attention';

type Tensors = Record<string, Tensor>;

function fixtureParams(name: string): Tensors {
  return Object.fromEntries(Object.entries(loadFixture(name).params).map(([k, v]) => [k, toHeed(v)]));
}

function snapshot(layer: MultiHeadAttention): number[] {
  return layer.parameters().flatMap((p) => Array.from(p.data));
}

describe('loadTorchStateDict / torchStateDict', () => {
  it('splits in_proj_weight [3E, E] and in_proj_bias [3E] into the q, k, v projections, row blocks in order', () => {
    const params = fixtureParams('mha_self_attention'); // E = 16
    const layer = new MultiHeadAttention({ embedDim: 16, numHeads: 4 });
    layer.loadTorchStateDict(params);
    const W = params.in_proj_weight!.data;
    const b = params.in_proj_bias!.data;
    expect(Array.from(layer.queryProjection.weight.data)).toEqual(Array.from(W.subarray(0, 256)));
    expect(Array.from(layer.keyProjection.weight.data)).toEqual(Array.from(W.subarray(256, 512)));
    expect(Array.from(layer.valueProjection.weight.data)).toEqual(Array.from(W.subarray(512, 768)));
    expect(Array.from(layer.valueProjection.bias!.data)).toEqual(Array.from(b.subarray(32, 48)));
    expect(Array.from(layer.outputProjection.weight.data)).toEqual(Array.from(params['out_proj.weight']!.data));
  });

  it('round-trips: torchStateDict() gives back the PyTorch tensors bit for bit (packed and separate forms)', () => {
    for (const [name, options] of [
      ['mha_self_attention', { embedDim: 16, numHeads: 4 }],
      ['mha_cross_kdim_vdim', { embedDim: 8, numHeads: 2, keyDim: 6, valueDim: 5 }],
      ['mha_no_bias_need_weights_false', { embedDim: 8, numHeads: 4, bias: false }],
    ] as const) {
      const params = fixtureParams(name);
      const layer = new MultiHeadAttention(options);
      layer.loadTorchStateDict(params);
      const back = layer.torchStateDict();
      expect(Object.keys(back).sort()).toEqual(Object.keys(params).sort());
      for (const [key, t] of Object.entries(params)) {
        expect(back[key]!.shape, key).toEqual(t.shape);
        expect(Array.from(back[key]!.data), key).toEqual(Array.from(t.data));
      }
    }
  });

  it('also takes separate q/k/v_proj_weight when kdim = vdim = E, and a GQA-sized in_proj_weight [E + 2·Ekv, E]', () => {
    const rng = new Rng(0);
    const separate = {
      q_proj_weight: randn([4, 4], rng),
      k_proj_weight: randn([4, 4], rng),
      v_proj_weight: randn([4, 4], rng),
      'out_proj.weight': randn([4, 4], rng),
    };
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2, bias: false });
    layer.loadTorchStateDict(separate);
    expect(Array.from(layer.keyProjection.weight.data)).toEqual(Array.from(separate.k_proj_weight.data));
    const grouped = new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2, bias: false }); // Ekv = 4
    const packed = randn([16, 8], rng);
    grouped.loadTorchStateDict({ in_proj_weight: packed, 'out_proj.weight': randn([8, 8], rng) });
    expect(Array.from(grouped.valueProjection.weight.data)).toEqual(Array.from(packed.data.subarray(96, 128)));
    expect(grouped.torchStateDict().in_proj_weight!.shape).toEqual([16, 8]);
  });

  it('refuses a wrong shape, naming the key and both shapes, and writes nothing', () => {
    const params = fixtureParams('mha_causal'); // E = 8
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: new Rng(1) });
    const before = snapshot(layer);
    const bad = { ...params, 'out_proj.bias': randn([7], new Rng(0)) };
    const call = () => layer.loadTorchStateDict(bad);
    expect(call).toThrow(StateDictError);
    expect(call).toThrow("MultiHeadAttention.loadTorchStateDict: key 'out_proj.bias' has shape [7], the module expects [8]");
    try {
      call();
    } catch (error) {
      expect((error as StateDictError).keys).toEqual(['out_proj.bias']);
      expect((error as StateDictError).shapes).toEqual({ expected: [8], got: [7] });
    }
    expect(snapshot(layer)).toEqual(before);
  });

  it('refuses null, undefined, {} and string entries in strict mode, and loads nothing (no partial load)', () => {
    const params = fixtureParams('mha_causal');
    for (const bad of [null, undefined, {}, 'abc', { shape: [8], data: 'abcdefgh' }, { shape: [8], data: Array(8).fill('1') }]) {
      const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: new Rng(1) });
      const before = snapshot(layer);
      const state = { ...params, in_proj_weight: bad } as unknown as Tensors;
      let caught: unknown = null;
      try {
        layer.loadTorchStateDict(state);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(StateDictError);
      const error = caught as StateDictError;
      expect([error.op, error.argument, error.keys]).toEqual([
        'MultiHeadAttention.loadTorchStateDict',
        'in_proj_weight',
        ['in_proj_weight'],
      ]);
      expect(snapshot(layer)).toEqual(before);
    }
  });

  it('refuses NaN and ±Infinity weights unless allowNonFinite, naming the key and index', () => {
    const params = fixtureParams('mha_causal');
    for (const bad of [NaN, Infinity, -Infinity]) {
      const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: new Rng(1) });
      const before = snapshot(layer);
      const weight = params['out_proj.weight']!.clone();
      weight.data[5] = bad;
      const state = { ...params, 'out_proj.weight': weight };
      expect(() => layer.loadTorchStateDict(state)).toThrow(
        `MultiHeadAttention.loadTorchStateDict: key 'out_proj.weight' holds ${bad} at index 5`,
      );
      expect(snapshot(layer)).toEqual(before);
      layer.loadTorchStateDict(state, { allowNonFinite: true });
      expect(layer.outputProjection.weight.data[5]).toBe(bad);
    }
  });

  it('refuses missing and unexpected keys, listing them and what the layer expects', () => {
    const params = fixtureParams('mha_causal');
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    const { 'out_proj.bias': _dropped, ...missing } = params;
    expect(() => layer.loadTorchStateDict(missing)).toThrow(
      'missing keys: out_proj.bias; this layer expects: in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias',
    );
    expect(() => layer.loadTorchStateDict({ ...params, bias_k: randn([1, 1, 8], new Rng(0)) })).toThrow('unexpected keys: bias_k');
    const noBias = new MultiHeadAttention({ embedDim: 8, numHeads: 2, bias: false });
    expect(() => noBias.loadTorchStateDict(params)).toThrow('unexpected keys: in_proj_bias, out_proj.bias');
  });

  it('explains why in_proj_weight does not fit a layer with kdim/vdim ≠ E', () => {
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, keyDim: 6, valueDim: 5 });
    expect(() => layer.loadTorchStateDict(fixtureParams('mha_causal'))).toThrow(
      'unexpected keys: in_proj_weight (keyDim 6 / valueDim 5 differ from embedDim 8, so PyTorch stores q_proj_weight, k_proj_weight, v_proj_weight)',
    );
  });

  it('strict: false ignores keys it does not know; prefix reads one layer of a bigger state dict', () => {
    const params = fixtureParams('mha_causal');
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    layer.loadTorchStateDict({ ...params, 'linear1.weight': randn([2, 2], new Rng(0)) }, { strict: false });
    expect(Array.from(layer.outputProjection.bias!.data)).toEqual(Array.from(params['out_proj.bias']!.data));
    const encoderLayer = Object.fromEntries([
      ...Object.entries(params).map(([k, v]) => [`self_attn.${k}`, v]),
      ['linear1.weight', randn([2, 2], new Rng(0))],
    ]);
    const other = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    other.loadTorchStateDict(encoderLayer, { prefix: 'self_attn.' });
    expect(snapshot(other)).toEqual(snapshot(layer));
    expect(() => other.loadTorchStateDict(encoderLayer, { prefix: 'attn.' })).toThrow('missing keys: attn.in_proj_weight');
  });

  it('accepts { shape, data } records as parsed from JSON', () => {
    const f = loadFixture('mha_causal');
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    layer.loadTorchStateDict(
      Object.fromEntries(Object.entries(f.params).map(([k, v]) => [k, { shape: v.shape, data: v.data.map(Number) }])),
    );
    expect(Array.from(layer.torchStateDict().in_proj_weight!.data)).toEqual(f.params.in_proj_weight!.data.map(Number));
  });

  it('torchStateDictGradients maps gradients back to PyTorch names (zeros before any backward)', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    const grads = layer.torchStateDictGradients();
    expect(Object.keys(grads)).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    expect(grads.in_proj_weight!.data.every((g) => g === 0)).toBe(true);
    const x = randn([1, 2, 4], new Rng(0));
    layer.forward(x, x, x).output.sum().backward();
    const after = layer.torchStateDictGradients();
    expect(Array.from(after.in_proj_bias!.data.subarray(8, 12))).toEqual(Array.from(layer.valueProjection.bias!.grad!.data));
  });
});
