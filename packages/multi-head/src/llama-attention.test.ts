import { concat, ConfigError, mul, randn, Rng, slice, StateDictError, sum, Tensor } from '@heed/tensor';
import { spyOnFused } from '@heed/tensor/testing';
import { describe, expect, it } from 'vitest';
import {
  assertClose,
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  loadVariantFixture,
  toHeed,
  type VariantFixture,
} from '../../../fixtures/variants/load-variant-fixture';
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

/** y = x Wᵀ + b by loops: x [L, in] rows, W [out, in] -> [L, out]. */
function naiveLinear(x: number[][], weight: Tensor, bias: Tensor | undefined): number[][] {
  const [out, inFeatures] = weight.shape as [number, number];
  return x.map((row) =>
    Array.from({ length: out }, (_, o) => row.reduce((s, v, c) => s + v * weight.data[o * inFeatures + c]!, bias ? bias.data[o]! : 0)),
  );
}

/**
 * A gpt-oss-style layer written out for one batch row: biased projections, RoPE (rotate-half) at positions
 * 0..L−1, GQA, scaled-dot scores, sliding window W, softmax with a sink logit per head, output projection.
 */
function naiveGptOssLayer(x: number[][], w: Record<string, Tensor>, o: { H: number; Hkv: number; d: number; window: number }): number[][] {
  const L = x.length;
  const q = naiveLinear(x, w['q_proj.weight']!, w['q_proj.bias']);
  const k = naiveLinear(x, w['k_proj.weight']!, w['k_proj.bias']);
  const v = naiveLinear(x, w['v_proj.weight']!, w['v_proj.bias']);
  const rotate = (row: number[], p: number): number[] =>
    row.map((value, i) => {
      const pair = i % (o.d / 2);
      const theta = p * 10000 ** ((-2 * pair) / o.d);
      return i < o.d / 2
        ? value * Math.cos(theta) - row[i + o.d / 2]! * Math.sin(theta)
        : value * Math.cos(theta) + row[i - o.d / 2]! * Math.sin(theta);
    });
  const merged = Array.from({ length: L }, () => new Array<number>(o.H * o.d).fill(0));
  for (let h = 0; h < o.H; h++) {
    const g = Math.floor(h / (o.H / o.Hkv));
    const head = (rows: number[][], at: number) => rows.map((row) => row.slice(at * o.d, (at + 1) * o.d));
    const [qh, kh, vh] = [head(q, h).map(rotate), head(k, g).map(rotate), head(v, g)];
    const sink = w.sinks!.data[h]!;
    for (let i = 0; i < L; i++) {
      const logits = kh.map((kj, j) =>
        j <= i && j > i - o.window ? qh[i]!.reduce((s, a, c) => s + a * kj[c]!, 0) / Math.sqrt(o.d) : -Infinity,
      );
      const top = Math.max(sink, ...logits);
      const denominator = Math.exp(sink - top) + logits.reduce((s, z) => s + Math.exp(z - top), 0);
      logits.forEach((z, j) => vh[j]!.forEach((value, c) => (merged[i]![h * o.d + c]! += (Math.exp(z - top) / denominator) * value)));
    }
  }
  return naiveLinear(merged, w['o_proj.weight']!, w['o_proj.bias']);
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
      const decoded = concat(
        pieces.map((p) => p.output),
        1,
      ); // [B, L, E]
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
    expect((error as StateDictError).message).toMatch(
      /model\.layers\.0\.self_attn\.v_proj\.weight' has shape \[8, 8\], this layer expects \[4, 8\]/,
    );
    expect((error as StateDictError).argument).toBe('model.layers.0.self_attn.v_proj.weight');
    expect(Array.from(layer.keyProjection.weight.data)).toEqual(Array.from(before)); // nothing written
    const { 'o_proj.weight': _dropped, ...partial } = saved;
    expect(() => layer.loadHuggingFaceStateDict(partial)).toThrow(/missing keys: o_proj\.weight/);
    expect(() => layer.loadHuggingFaceStateDict({ ...saved, 'q_proj.bias': new Tensor(new Float32Array(8), [8]) })).toThrow(
      /unexpected keys: q_proj\.bias/,
    );
  });

  it('gpt-oss style (biases, sinks, window, GQA, RoPE) equals the layer written out by hand, and decodes with a cache', () => {
    const rng = new Rng(61);
    const [E, H, Hkv, d, W, L] = [8, 4, 2, 4, 3, 6];
    const layer = new LlamaAttention({
      embedDim: E,
      numHeads: H,
      numKeyValueHeads: Hkv,
      headDim: d,
      slidingWindow: W,
      attentionBias: true,
      sinks: true,
      rng,
    });
    const weights = layer.huggingFaceStateDict();
    expect(Object.keys(weights)).toEqual([
      'q_proj.weight',
      'q_proj.bias',
      'k_proj.weight',
      'k_proj.bias',
      'v_proj.weight',
      'v_proj.bias',
      'o_proj.weight',
      'o_proj.bias',
      'sinks',
    ]);
    weights.sinks = new Tensor(Float32Array.from([0.5, -1, 2, 0]), [H]);
    for (const name of ['q_proj.bias', 'k_proj.bias', 'v_proj.bias', 'o_proj.bias']) weights[name] = randn(weights[name]!.shape, rng);
    layer.loadHuggingFaceStateDict(weights);
    const x = randn([2, L, E], rng);
    const { output } = layer.forward(x);
    const expected = [0, 1].flatMap((b) =>
      naiveGptOssLayer(
        Array.from({ length: L }, (_, i) => Array.from(x.data.subarray((b * L + i) * E, (b * L + i + 1) * E))),
        weights,
        { H, Hkv, d, window: W },
      ).flat(),
    );
    assertClose('gpt-oss layer', output, { shape: [2, L, E], data: expected }, { rtol: 1e-4, atol: 1e-5 });
    const cache = layer.createCache();
    const steps = Array.from({ length: L }, (_, t) => layer.forward(slice(x, 1, t, t + 1), { cache }).output);
    assertClose('decoded', concat(steps, 1), output, { rtol: 1e-4, atol: 1e-5 });
    output.sum().backward();
    expect(layer.normalizer.constructor.name).toBe('SoftmaxWithSinks');
    expect(new Map(layer.namedParameters()).get('normalizer.sinks')!.grad!.data.every(Number.isFinite)).toBe(true);
  });

  it('refuses bad configurations in the constructor, naming the argument', () => {
    const base = { embedDim: 8, numHeads: 2 };
    expect(() => new LlamaAttention({ ...base, numKeyValueHeads: 3 })).toThrow(
      expect.objectContaining({ op: 'LlamaAttention', argument: 'numKeyValueHeads' }),
    );
    expect(() => new LlamaAttention({ embedDim: 6, numHeads: 2 })).toThrow(/headDim must be even for RoPE/);
    expect(() => new LlamaAttention({ ...base, slidingWindow: 0 })).toThrow(ConfigError);
    expect(() => new LlamaAttention({ ...base, softcap: 0 })).toThrow(expect.objectContaining({ argument: 'softcap' }));
    expect(() => new LlamaAttention({ ...base, queryPreAttentionScalar: -1 })).toThrow(ConfigError);
    expect(() => new LlamaAttention({ ...base, sinks: 1 as unknown as boolean })).toThrow(expect.objectContaining({ argument: 'sinks' }));
    expect(() => new LlamaAttention({ embedDim: 10, numHeads: 4 })).toThrow(/divisible/);
    expect(() => new LlamaAttention(base).forward(randn([1, 3, 4], new Rng(1)))).toThrow(/must be \[B, L, E\] with E = embedDim = 8/);
  });
});

describe('LlamaAttention on the fused path', () => {
  it("Mistral's window and causal reach the kernel as index rules (no mask), with the plain path's numbers, cached too", () => {
    const { problems, restore } = spyOnFused();
    try {
      const rng = new Rng(11);
      const x = randn([2, 9, 16], rng); // [B, L, E]
      for (const slidingWindow of [undefined, 3]) {
        const layer = new LlamaAttention({ embedDim: 16, numHeads: 4, numKeyValueHeads: 2, slidingWindow, rng });
        problems.length = 0;
        const fused = layer.forward(x, { needWeights: false }).output; // [B, L, E]
        const plain = layer.forward(x).output; // weights asked for: the plain path
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatchObject({ causalOffset: 0, attentionMask: null, groupSize: 2 });
        fused.data.forEach((value, i) => expect(value).toBeCloseTo(plain.data[i]!, 5));
        // decoding the last 2 positions after 7 cached: the offset is the cached length
        const cache = layer.createCache();
        layer.forward(slice(x, 1, 0, 7), { cache, needWeights: false });
        const last = layer.forward(slice(x, 1, 7, 9), { cache, needWeights: false }).output; // [B, 2, E]
        expect(problems.at(-1)).toMatchObject({ causalOffset: 7, attentionMask: null });
        const tail = slice(plain, 1, 7, 9); // [B, 2, E]
        last.data.forEach((value, i) => expect(value).toBeCloseTo(tail.data[i]!, 5));
      }
    } finally {
      restore();
    }
  });

  for (const name of BLOCKS) {
    it(`${name} on the fused path (needWeights false): output and the gradients of x and every weight, softcap in the kernel`, () => {
      const { problems, restore } = spyOnFused();
      try {
        const fixture = loadVariantFixture(name);
        const layer = layerFor(fixture);
        const x = toHeed(fixture.inputs.x!, true);
        const { output } = layer.forward(x, { needWeights: false });
        expect(problems).toHaveLength(1);
        const cap = fixture.config.attn_logit_softcapping;
        expect(problems[0]!.softcap ?? null).toBe(typeof cap === 'number' ? cap : null);
        expect(problems[0]!.attentionMask).toBeNull();
        checkOutput(fixture, 'attn_output', output);
        backwardFromFixture(fixture, 'attn_output', output);
        checkGrads(fixture, 'inputs', { x });
        const named = new Map(layer.namedParameters());
        checkGrads(fixture, 'params', {
          'q_proj.weight': named.get('queryProjection.weight'),
          'k_proj.weight': named.get('keyProjection.weight'),
          'v_proj.weight': named.get('valueProjection.weight'),
          'o_proj.weight': named.get('outputProjection.weight'),
        });
      } finally {
        restore();
      }
    });
  }

  it('RoPE + sliding window + GQA + softcap + sinks in one layer: fused = plain, the gradient of the sinks included', () => {
    const rng = new Rng(12);
    const x = randn([2, 9, 16], rng); // [B, L, E]
    const layer = new LlamaAttention({ embedDim: 16, numHeads: 4, numKeyValueHeads: 2, slidingWindow: 4, softcap: 3, sinks: true, rng });
    const sinks = new Map(layer.namedParameters()).get('normalizer.sinks')!;
    sinks.data.set([0.5, -1, 2, 0]);
    const run = (needWeights: boolean) => {
      for (const p of layer.parameters()) p.grad = null;
      const input = new Tensor(x.data.slice(), x.shape, true);
      const { output } = layer.forward(input, { needWeights });
      sum(mul(output, randn(output.shape, new Rng(3)))).backward();
      return { output, grads: [input.grad!, ...layer.parameters().map((p) => p.grad!)] };
    };
    const fused = run(false);
    const plain = run(true);
    assertClose('output', fused.output, plain.output, { rtol: 1e-4, atol: 1e-5 });
    fused.grads.forEach((g, index) => assertClose(`gradient ${index}`, g, plain.grads[index]!, { rtol: 1e-3, atol: 1e-4 }));
  });
});
