import { concat, ConfigError, randn, Rng, slice, StateDictError, Tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { assertClose, backwardFromFixture, checkGrads, checkOutput, configNumber, loadVariantFixture, toHeed, type VariantFixture } from '../../../fixtures/variants/load-variant-fixture';
import { LlamaAttention, type LlamaAttentionOptions } from './llama-attention';

/** The layer a fixture describes, from its config (Hugging Face names). */
function layerFor(fixture: VariantFixture): LlamaAttention {
  const c = fixture.config;
  const options: LlamaAttentionOptions = {
    embedDim: configNumber(fixture, 'hidden_size'),
    numHeads: configNumber(fixture, 'num_attention_heads'),
    numKeyValueHeads: configNumber(fixture, 'num_key_value_heads'),
    headDim: configNumber(fixture, 'head_dim'),
    ropeBase: configNumber(fixture, 'rope_theta'),
    ropeStyle: c.rope_convention === 'interleaved' ? 'interleaved' : 'rotate-half',
  };
  if (typeof c.sliding_window === 'number') options.slidingWindow = c.sliding_window;
  if (typeof c.attn_logit_softcapping === 'number') options.softcap = c.attn_logit_softcapping;
  if (typeof c.query_pre_attn_scalar === 'number') options.queryPreAttentionScalar = c.query_pre_attn_scalar;
  const layer = new LlamaAttention(options);
  layer.loadHuggingFaceStateDict(Object.fromEntries(Object.entries(fixture.params).map(([name, t]) => [name, toHeed(t)])));
  return layer;
}

const BLOCKS = ['llama_attention_block', 'mistral_sliding_window_block', 'gemma2_softcap_block'];

describe('LlamaAttention against the PyTorch (Hugging Face) fixtures', () => {
  for (const name of BLOCKS) {
    it(`${name}: output, weights and the gradients of x and every weight`, () => {
      const fixture = loadVariantFixture(name);
      const layer = layerFor(fixture);
      expect(layer.scale).toBeCloseTo(configNumber(fixture, 'scaling'), 12);
      const x = toHeed(fixture.inputs.x!, true);
      const { output, weights } = layer.forward(x);
      checkOutput(fixture, 'attn_output', output);
      checkOutput(fixture, 'attn_weights', weights!);
      backwardFromFixture(fixture, 'attn_output', output);
      checkGrads(fixture, 'inputs', { x });
      const named = new Map(layer.namedParameters());
      checkGrads(fixture, 'params', {
        'q_proj.weight': named.get('queryProjection.weight'),
        'k_proj.weight': named.get('keyProjection.weight'),
        'v_proj.weight': named.get('valueProjection.weight'),
        'o_proj.weight': named.get('outputProjection.weight'),
      });
    });

    it(`${name}: cached decoding (a prompt, then one token at a time) equals the full causal pass`, () => {
      const fixture = loadVariantFixture(name);
      const layer = layerFor(fixture);
      const x = toHeed(fixture.inputs.x!);
      const L = x.shape[1]!;
      const full = layer.forward(x);
      const cache = layer.createCache();
      const prompt = 2;
      const pieces = [layer.forward(slice(x, 1, 0, prompt), { cache })];
      for (let t = prompt; t < L; t++) pieces.push(layer.forward(slice(x, 1, t, t + 1), { cache }));
      expect(cache.length).toBe(L);
      const decoded = concat(pieces.map((p) => p.output), 1); // [B, L, E]
      assertClose('decoded output', decoded, full.output, { rtol: 1e-4, atol: 1e-5 });
      const lastWeights = pieces.at(-1)!.weights!; // [B, H, 1, L]
      assertClose('last weights', lastWeights, slice(full.weights!, 2, L - 1), { rtol: 1e-4, atol: 1e-5 });
    });
  }

  it('reads and writes Hugging Face names under a prefix; a wrong shape names the key and both shapes and writes nothing', () => {
    const layer = new LlamaAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2, rng: new Rng(1) });
    const saved = layer.huggingFaceStateDict();
    expect(Object.keys(saved)).toEqual(['q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'o_proj.weight']);
    expect(saved['k_proj.weight']!.shape).toEqual([4, 8]);
    const before = layer.keyProjection.weight.data.slice();
    const prefixed = Object.fromEntries(Object.entries(saved).map(([k, v]) => [`model.layers.0.self_attn.${k}`, v]));
    prefixed['model.layers.0.self_attn.k_proj.weight'] = randn([4, 8], new Rng(2));
    prefixed['model.layers.0.self_attn.v_proj.weight'] = randn([8, 8], new Rng(3)); // MHA-sized: wrong for Hkv = 2
    let error: unknown = null;
    try {
      layer.loadHuggingFaceStateDict(prefixed, { prefix: 'model.layers.0.self_attn.' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    expect((error as StateDictError).message).toMatch(/model\.layers\.0\.self_attn\.v_proj\.weight' has shape \[8, 8\], this layer expects \[4, 8\]/);
    expect((error as StateDictError).argument).toBe('model.layers.0.self_attn.v_proj.weight');
    expect(Array.from(layer.keyProjection.weight.data)).toEqual(Array.from(before)); // nothing written
    const { ['o_proj.weight']: _dropped, ...partial } = saved;
    expect(() => layer.loadHuggingFaceStateDict(partial)).toThrow(/missing keys: o_proj\.weight/);
    expect(() => layer.loadHuggingFaceStateDict({ ...saved, 'q_proj.bias': new Tensor(new Float32Array(8), [8]) })).toThrow(/unexpected keys: q_proj\.bias/);
  });

  it('refuses bad configurations in the constructor, naming the argument', () => {
    const base = { embedDim: 8, numHeads: 2 };
    expect(() => new LlamaAttention({ ...base, numKeyValueHeads: 3 })).toThrow(expect.objectContaining({ op: 'LlamaAttention', argument: 'numKeyValueHeads' }));
    expect(() => new LlamaAttention({ embedDim: 6, numHeads: 2 })).toThrow(/headDim must be even for RoPE/);
    expect(() => new LlamaAttention({ ...base, slidingWindow: 0 })).toThrow(ConfigError);
    expect(() => new LlamaAttention({ ...base, softcap: 0 })).toThrow(expect.objectContaining({ argument: 'softcap' }));
    expect(() => new LlamaAttention({ ...base, queryPreAttentionScalar: -1 })).toThrow(ConfigError);
    expect(() => new LlamaAttention({ embedDim: 10, numHeads: 4 })).toThrow(/divisible/);
    expect(() => new LlamaAttention(base).forward(randn([1, 3, 4], new Rng(1)))).toThrow(/must be \[B, L, E\] with E = embedDim = 8/);
  });
});
