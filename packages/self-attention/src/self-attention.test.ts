import { concat, ConfigError, gradcheck, type HeedError, linear, mul, randn, Rng, ShapeError, sum, tensor, Tensor } from '@heed/tensor';
import { AdditiveScorer, GeneralScorer, listScorers } from '@heed/scorers';
import { attend } from '@heed/soft-attention';
import { describe, expect, it } from 'vitest';
import { assertClose, loadFixture, toHeed, values, type Fixture } from '../../../fixtures/load-fixture';
import { SelfAttention, type SelfAttentionCallOptions } from './self-attention';

// Shape letters: B batch, L sequence length, E model size, H heads, d input size, dk/dv projected sizes.

/**
 * Every head of PyTorch's nn.MultiheadAttention is a SelfAttention layer: head h projects x with rows
 * [h·dk, (h+1)·dk) of W_q, W_k, W_v. Runs H of them on the fixture's x, checks each head's weights with
 * attn_weights_per_head, the heads concatenated through out_proj with attn_output, and the gradients
 * w.r.t. x and in_proj_weight.
 */
function checkHeadsOfFixture(f: Fixture, options: SelfAttentionCallOptions = {}): void {
  const E = f.config.embed_dim as number;
  const H = f.config.num_heads as number;
  const dk = E / H;
  const W = toHeed(f.params.in_proj_weight!); // [3E, E]
  const b = toHeed(f.params.in_proj_bias!); // [3E]
  const rows = (t: Tensor, start: number) =>
    new Tensor(t.data.slice(start * (t.rank === 2 ? E : 1), (start + dk) * (t.rank === 2 ? E : 1)), t.rank === 2 ? [dk, E] : [dk]);
  const heads = Array.from({ length: H }, (_, h) => {
    const head = new SelfAttention({ inputDim: E, keyDim: dk, valueDim: dk });
    head.loadStateDict({
      'queryProjection.weight': rows(W, h * dk),
      'queryProjection.bias': rows(b, h * dk),
      'keyProjection.weight': rows(W, E + h * dk),
      'keyProjection.bias': rows(b, E + h * dk),
      'valueProjection.weight': rows(W, 2 * E + h * dk),
      'valueProjection.bias': rows(b, 2 * E + h * dk),
    });
    return head;
  });
  const x = toHeed(f.inputs.x!, true); // [B, L, E]
  const [B, L] = x.shape as [number, number, number];
  const results = heads.map((head) => head.forward(x, options));
  const perHead = values(f.outputs.attn_weights_per_head!); // [B, H, L, L]
  results.forEach(({ weights }, h) => {
    const ref = new Float64Array(B * L * L);
    for (let n = 0; n < B; n++) ref.set(perHead.subarray((n * H + h) * L * L, (n * H + h + 1) * L * L), n * L * L);
    assertClose(`weights of head ${h}`, weights!, { shape: [B, L, L], data: ref });
  });
  const merged = concat(
    results.map((r) => r.output),
    -1,
  ); // H × [B, L, dk] -> [B, L, E]
  const output = linear(merged, toHeed(f.params['out_proj.weight']!), toHeed(f.params['out_proj.bias']!)); // [B, L, E]
  assertClose('attn_output', output, f.outputs.attn_output!);
  sum(mul(output, toHeed(f.grad_outputs!.attn_output!))).backward();
  assertClose('grad x', x.grad!, f.grads!.inputs!.x!);
  const inProjGrad = values(f.grads!.params!.in_proj_weight!); // [3E, E]
  heads.forEach((head, h) => {
    for (const [block, projection] of [
      [0, head.queryProjection],
      [1, head.keyProjection],
      [2, head.valueProjection],
    ] as const) {
      const start = (block * E + h * dk) * E;
      assertClose(`grad in_proj_weight block ${block} head ${h}`, projection.weight.grad!, {
        shape: [dk, E],
        data: inProjGrad.subarray(start, start + dk * E),
      });
    }
  });
}

/** float64 loops: softmax(q·k/√dk) over kept positions (zero row if none), weighted sum, optional output projection. */
function naiveSelfAttention(
  layer: SelfAttention,
  x: Tensor,
  keep: (b: number, i: number, j: number) => boolean,
): { output: Float64Array; weights: Float64Array } {
  const [B, L, d] = x.shape as [number, number, number];
  const proj = (lin: { weight: Tensor; bias: Tensor | null }, rowsIn: ArrayLike<number>, n: number, inF: number) => {
    const outF = lin.weight.shape[0]!;
    const y = new Float64Array(n * outF);
    for (let r = 0; r < n; r++)
      for (let o = 0; o < outF; o++) {
        let s = lin.bias ? lin.bias.data[o]! : 0;
        for (let c = 0; c < inF; c++) s += rowsIn[r * inF + c]! * lin.weight.data[o * inF + c]!;
        y[r * outF + o] = s;
      }
    return y;
  };
  const [dk, dv] = [layer.keyDim, layer.valueDim];
  const q = proj(layer.queryProjection, x.data, B * L, d);
  const k = proj(layer.keyProjection, x.data, B * L, d);
  const v = proj(layer.valueProjection, x.data, B * L, d);
  const weights = new Float64Array(B * L * L);
  const context = new Float64Array(B * L * dv);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < L; i++) {
      const s: number[] = [];
      for (let j = 0; j < L; j++) {
        let dot = 0;
        for (let c = 0; c < dk; c++) dot += q[(b * L + i) * dk + c]! * k[(b * L + j) * dk + c]!;
        s.push(keep(b, i, j) ? dot / Math.sqrt(dk) : -Infinity);
      }
      const max = Math.max(...s);
      const e = s.map((z) => (max === -Infinity ? 0 : Math.exp(z - max)));
      const total = e.reduce((a, z) => a + z, 0);
      for (let j = 0; j < L; j++) {
        const p = total === 0 ? 0 : e[j]! / total;
        weights[(b * L + i) * L + j] = p;
        for (let c = 0; c < dv; c++) context[(b * L + i) * dv + c]! += p * v[(b * L + j) * dv + c]!;
      }
    }
  const output = layer.outputProjection ? proj(layer.outputProjection, context, B * L, dv) : context;
  return { output, weights };
}

describe('SelfAttention against PyTorch (each head of nn.MultiheadAttention is one)', () => {
  it('mha_self_attention: 4 heads of dk = 4 — weights, output through out_proj, gradients w.r.t. x and in_proj_weight', () => {
    checkHeadsOfFixture(loadFixture('mha_self_attention'));
  });

  it('mha_causal: causal: true', () => {
    checkHeadsOfFixture(loadFixture('mha_causal'), { causal: true });
  });
});

describe('SelfAttention against a naive loop', () => {
  it('dk ≠ dv, an output projection, a key padding mask and causal', () => {
    const rng = new Rng(1);
    const layer = new SelfAttention({ inputDim: 5, keyDim: 3, valueDim: 4, outputDim: 6, rng });
    const x = randn([2, 4, 5], rng);
    const keyPaddingMask = tensor([
      [1, 1, 0, 1],
      [1, 1, 1, 1],
    ]);
    const { output, weights } = layer.forward(x, { keyPaddingMask, causal: true });
    expect(output.shape).toEqual([2, 4, 6]);
    const ref = naiveSelfAttention(layer, x, (b, i, j) => j <= i && keyPaddingMask.data[b * 4 + j] === 1);
    assertClose('output', output, { shape: [2, 4, 6], data: ref.output });
    assertClose('weights', weights!, { shape: [2, 4, 4], data: ref.weights });
  });

  it('no bias, no output projection: the output is the context [B, L, dv]', () => {
    const rng = new Rng(2);
    const layer = new SelfAttention({ inputDim: 3, keyDim: 2, valueDim: 5, bias: false, rng });
    expect(layer.namedParameters().map(([n, p]) => `${n} [${p.shape.join(', ')}]`)).toEqual([
      'queryProjection.weight [2, 3]',
      'keyProjection.weight [2, 3]',
      'valueProjection.weight [5, 3]',
    ]);
    const x = randn([1, 6, 3], rng);
    const ref = naiveSelfAttention(layer, x, () => true);
    assertClose('output', layer.forward(x).output, { shape: [1, 6, 5], data: ref.output });
  });

  it('gradients w.r.t. x match finite differences (general scorer, causal, output projection)', () => {
    const rng = new Rng(3);
    const layer = new SelfAttention({ inputDim: 3, keyDim: 2, valueDim: 2, outputDim: 3, scorer: { kind: 'general' }, rng });
    const result = gradcheck((x) => layer.forward(x, { causal: true }).output, [randn([2, 3, 3], rng)]);
    expect(result.ok, JSON.stringify(result)).toBe(true);
  });
});

describe('SelfAttention with any scorer and normalizer', () => {
  it('every registered scorer kind runs, built with queryDim = keyDim = dk, and gradients reach its parameters', () => {
    const rng = new Rng(4);
    for (const kind of listScorers()) {
      const layer = new SelfAttention({ inputDim: 4, keyDim: 3, valueDim: 2, scorer: { kind }, rng });
      expect(layer.scorer.kind).toBe(kind);
      const x = randn([2, 5, 4], rng, { requiresGrad: true });
      const { output, weights } = layer.forward(x);
      expect(output.shape).toEqual([2, 5, 2]);
      expect(weights!.shape).toEqual([2, 5, 5]);
      sum(output).backward();
      for (const [name, p] of layer.namedParameters()) expect(p.grad, `${kind}: ${name}`).not.toBeNull();
    }
  });

  it('an additive scorer: its parameters are the layer’s (scorer.W1.weight …) and the result is attend over the projections', () => {
    const rng = new Rng(5);
    const layer = new SelfAttention({ inputDim: 4, keyDim: 3, valueDim: 2, scorer: { kind: 'additive', hiddenDim: 7 }, rng });
    expect(layer.scorer).toBeInstanceOf(AdditiveScorer);
    expect(layer.namedParameters().map(([n]) => n)).toContain('scorer.W1.weight');
    expect((layer.scorer as AdditiveScorer).W1.weight.shape).toEqual([7, 3]);
    const x = randn([2, 5, 4], rng);
    const want = attend({
      query: linear(x, layer.queryProjection.weight, layer.queryProjection.bias),
      keys: linear(x, layer.keyProjection.weight, layer.keyProjection.bias),
      values: linear(x, layer.valueProjection.weight, layer.valueProjection.bias),
      scorer: layer.scorer,
      causal: true,
    });
    const got = layer.forward(x, { causal: true });
    assertClose('output', got.output, want.context, { rtol: 0, atol: 0 });
    assertClose('weights', got.weights!, want.weights, { rtol: 0, atol: 0 });
  });

  it('a Scorer instance is used as given', () => {
    const scorer = new GeneralScorer({ queryDim: 3, keyDim: 3 });
    expect(new SelfAttention({ inputDim: 4, keyDim: 3, valueDim: 2, scorer }).scorer).toBe(scorer);
  });

  it('sparsemax: exact zeros, rows summing to 1', () => {
    const rng = new Rng(6);
    const layer = new SelfAttention({ inputDim: 4, keyDim: 4, valueDim: 4, normalizer: { kind: 'sparsemax' }, rng });
    const { weights } = layer.forward(randn([2, 6, 4], rng).mul(4));
    expect(Array.from(weights!.data).some((w) => w === 0)).toBe(true);
    for (let r = 0; r < 12; r++) expect(Array.from(weights!.data.subarray(r * 6, r * 6 + 6)).reduce((a, w) => a + w, 0)).toBeCloseTo(1, 5);
  });
});

describe('SelfAttention masks and shapes', () => {
  it('causal: true equals the lower-triangular keep-mask and the additive −∞ mask', () => {
    const rng = new Rng(7);
    const layer = new SelfAttention({ inputDim: 4, keyDim: 4, valueDim: 4, rng });
    const x = randn([2, 4, 4], rng);
    const lower = Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => (j <= i ? 1 : 0)));
    const a = layer.forward(x, { causal: true });
    const b = layer.forward(x, { attentionMask: lower });
    const c = layer.forward(x, { additiveMask: tensor(lower.map((row) => row.map((k) => (k ? 0 : -Infinity)))) });
    for (const other of [b, c]) {
      expect(Array.from(other.output.data)).toEqual(Array.from(a.output.data));
      expect(Array.from(other.weights!.data)).toEqual(Array.from(a.weights!.data));
    }
  });

  it('a fully masked position gives zero weights and output, finite gradients', () => {
    const rng = new Rng(8);
    const layer = new SelfAttention({ inputDim: 3, keyDim: 3, valueDim: 3, bias: false, rng });
    const x = randn([1, 3, 3], rng, { requiresGrad: true });
    const mask = tensor([
      [0, 0, 0],
      [1, 1, 0],
      [1, 1, 1],
    ]);
    const { output, weights } = layer.forward(x, { attentionMask: mask });
    expect(Array.from(weights!.data.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(output.data.subarray(0, 3))).toEqual([0, 0, 0]);
    sum(output).backward();
    expect(x.grad!.data.every(Number.isFinite)).toBe(true);
  });

  it('takes any leading dims: an unbatched [L, d] sequence equals a batch of one', () => {
    const rng = new Rng(9);
    const layer = new SelfAttention({ inputDim: 4, keyDim: 2, valueDim: 3, rng });
    const x = randn([5, 4], rng);
    const single = layer.forward(x, { causal: true });
    const batched = layer.forward(x.reshape([1, 5, 4]), { causal: true });
    expect(single.output.shape).toEqual([5, 3]);
    expect(Array.from(single.output.data)).toEqual(Array.from(batched.output.data));
  });

  it('needWeights: false (attend may fuse) returns null and the same output', () => {
    const rng = new Rng(10);
    const layer = new SelfAttention({ inputDim: 4, keyDim: 2, valueDim: 3, rng });
    const x = randn([2, 3, 4], rng);
    const r = layer.forward(x, { needWeights: false });
    expect(r.weights).toBeNull();
    assertClose('output', r.output, layer.forward(x).output, { rtol: 1e-5, atol: 1e-6 });
  });

  it('dropout on the weights: seeded, and off in eval mode', () => {
    const x = randn([1, 5, 4], new Rng(0));
    const make = (dropout: number) => new SelfAttention({ inputDim: 4, keyDim: 4, valueDim: 4, dropout, rng: new Rng(3) });
    const [a, b, plain] = [make(0.5), make(0.5), make(0)];
    expect(Array.from(a.forward(x).output.data)).toEqual(Array.from(b.forward(x).output.data));
    expect(Array.from(a.forward(x).output.data)).not.toEqual(Array.from(plain.forward(x).output.data));
    a.eval();
    expect(Array.from(a.forward(x).output.data)).toEqual(Array.from(plain.forward(x).output.data));
  });
});

describe('SelfAttention refuses bad configurations and inputs', () => {
  it('constructor errors name the option and the value', () => {
    expect(() => new SelfAttention({ inputDim: 0, keyDim: 2, valueDim: 2 })).toThrow(
      'SelfAttention: inputDim must be a positive integer, got 0',
    );
    expect(() => new SelfAttention({ inputDim: 2, keyDim: 2, valueDim: 2, outputDim: -1 })).toThrow(
      'outputDim must be a positive integer, got -1',
    );
    expect(() => new SelfAttention({ inputDim: 2, keyDim: 2, valueDim: 2, dropout: 1.5 })).toThrow(
      'dropout must be a probability in [0, 1), got 1.5',
    );
    const unknown = () => new SelfAttention({ inputDim: 2, keyDim: 2, valueDim: 2, scorer: { kind: 'nope' } });
    expect(unknown).toThrow(ConfigError);
    expect(unknown).toThrow(
      "SelfAttention: scorer: unknown scorer kind 'nope'; known kinds: dot, scaled-dot, general, concat, additive, cosine",
    );
  });

  it('options of the wrong type are a ConfigError naming the option, never a TypeError', () => {
    // Loose on purpose: JavaScript callers can pass anything.
    const loose = (x: unknown) => x as ConstructorParameters<typeof SelfAttention>[0];
    const dims = { inputDim: 2, keyDim: 2, valueDim: 2 };
    for (const [options, argument] of [
      [null, 'options'],
      [undefined, 'options'],
      [{ ...dims, rng: 5 }, 'rng'],
      [{ ...dims, bias: 'no' }, 'bias'],
    ] as const) {
      let caught: unknown = null;
      try {
        new SelfAttention(loose(options));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect([(caught as ConfigError).op, (caught as ConfigError).argument]).toEqual(['SelfAttention', argument]);
    }
  });

  it('forward errors name the op, the argument and the shapes', () => {
    const rng = new Rng(0);
    const layer = new SelfAttention({ inputDim: 4, keyDim: 2, valueDim: 2 });
    const x = randn([2, 3, 4], rng);
    const cases: [() => unknown, string, string][] = [
      [() => layer.forward(randn([2, 3, 5], rng)), 'x', 'SelfAttention.forward: x [2, 3, 5] must be [..., L, inputDim] = [..., L, 4]'],
      [() => layer.forward(randn([4], rng)), 'x', 'x [4] must be [..., L, inputDim]'],
      [
        () =>
          layer.forward(x, {
            attentionMask: tensor([
              [1, 1],
              [1, 1],
            ]),
          }),
        'attentionMask',
        'attentionMask [2, 2] does not broadcast to the scores [2, 3, 3]',
      ],
      [
        () => layer.forward(x, { additiveMask: randn([3, 2], rng) }),
        'additiveMask',
        'additiveMask [3, 2] does not broadcast to the scores [2, 3, 3]',
      ],
      [
        () => layer.forward(x, { keyPaddingMask: tensor([[1, 1, 1]]) }),
        'keyPaddingMask',
        'keyPaddingMask [1, 3] must be [B, Lk] = [2, 3], one entry per key',
      ],
    ];
    for (const [call, argument, message] of cases) {
      expect(call).toThrow(ShapeError);
      expect(call).toThrow(message);
      try {
        call();
      } catch (error) {
        expect((error as HeedError).op).toBe('SelfAttention.forward');
        expect((error as HeedError).argument).toBe(argument);
      }
    }
  });
});

describe('SelfAttention takes the attention options of every call', () => {
  it('implementation: fused refuses what cannot fuse, naming SelfAttention.forward; plain and fused agree', () => {
    const rng = new Rng(3);
    const x = randn([2, 5, 4], rng);
    const sparse = new SelfAttention({ inputDim: 4, keyDim: 4, valueDim: 3, normalizer: 'sparsemax', rng });
    const e = (() => {
      try {
        sparse.forward(x, { implementation: 'fused', needWeights: false });
      } catch (error) {
        return error as HeedError;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect([e?.op, e?.argument]).toEqual(['SelfAttention.forward', 'implementation']);
    const layer = new SelfAttention({ inputDim: 4, keyDim: 4, valueDim: 3, rng });
    const fused = layer.forward(x, { causal: { offset: 1 }, implementation: 'fused', needWeights: false }).output;
    const plain = layer.forward(x, { causal: { offset: 1 }, implementation: 'plain' }).output;
    fused.data.forEach((value, i) => expect(value).toBeCloseTo(plain.data[i]!, 5));
  });

  it('NaN in x is refused, naming x, with or without padding (a padded position is still a query)', () => {
    const rng = new Rng(4);
    const layer = new SelfAttention({ inputDim: 4, keyDim: 4, valueDim: 3, rng });
    const dirty = randn([1, 4, 4], rng);
    dirty.data[3 * 4 + 1] = NaN; // position 3
    for (const options of [{}, { keyPaddingMask: tensor([[1, 1, 1, 0]]) }]) {
      let refused: HeedError | null = null;
      try {
        layer.forward(dirty, options);
      } catch (error) {
        refused = error as HeedError;
      }
      expect([refused?.op, refused?.argument]).toEqual(['SelfAttention.forward', 'x']);
    }
  });

  it('x that is not a Tensor is an ArgumentError naming SelfAttention.forward and x (nested arrays, null, numbers)', () => {
    const layer = new SelfAttention({ inputDim: 2, keyDim: 2, valueDim: 2, rng: new Rng(5) });
    for (const [x, said] of [
      [[[[1, 2]]], /an array/],
      [null, /null/],
      [3, /3/],
    ] as const) {
      let refused: HeedError | null = null;
      try {
        layer.forward(x as never);
      } catch (error) {
        refused = error as HeedError;
      }
      expect([refused?.name, refused?.op, refused?.argument]).toEqual(['ArgumentError', 'SelfAttention.forward', 'x']);
      expect(refused?.message).toMatch(said);
    }
  });
});
