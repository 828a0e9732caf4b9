import {
  add,
  concat,
  ConfigError,
  type HeedError,
  linear,
  mul,
  randn,
  Rng,
  ShapeError,
  slice,
  sum,
  Tensor,
  tensor,
  useJsKernels,
  useWasmKernels,
  type Parameter,
} from '@heed/tensor';
import { spyOnFused } from '@heed/tensor/testing';
import { AdditiveScorer } from '@heed/scorers';
import { attend } from '@heed/soft-attention';
import { describe, expect, it } from 'vitest';
import { assertClose, FLOAT32, loadFixture, toHeed, torchMaskToKeep, values, type Fixture } from '../../../fixtures/load-fixture';
import { MultiHeadAttention, type MultiHeadForwardOptions } from './multi-head-attention';
import { naiveMultiHead, type NaiveWeights } from './testing/naive-multi-head';

// Shape letters: B batch, Lq queries, Lk keys, E embedDim, H heads, Hkv key/value heads, d = E / H.

type Tensors = Record<string, Tensor>;

function fixtureLayer(f: Fixture, extra: { numKeyValueHeads?: number } = {}): MultiHeadAttention {
  const c = f.config as Record<string, number | boolean>;
  const layer = new MultiHeadAttention({
    embedDim: c.embed_dim as number,
    numHeads: c.num_heads as number,
    keyDim: c.kdim as number,
    valueDim: c.vdim as number,
    bias: c.bias as boolean,
    addBiasKv: c.add_bias_kv as boolean,
    addZeroAttn: c.add_zero_attn as boolean,
    rng: new Rng(0),
    ...extra,
  });
  layer.loadTorchStateDict(Object.fromEntries(Object.entries(f.params).map(([k, v]) => [k, toHeed(v)])));
  return layer;
}

/** Runs an mha_* fixture: outputs, averaged and per-head weights, gradients w.r.t. inputs and every PyTorch-named parameter. */
function checkMhaFixture(f: Fixture, options: MultiHeadForwardOptions = {}, layer = fixtureLayer(f)): void {
  const self = f.inputs.x !== undefined;
  const x = self ? toHeed(f.inputs.x!, true) : null; // [B, L, E]
  const query = x ?? toHeed(f.inputs.query!, true); // [B, Lq, E]
  const key = x ?? toHeed(f.inputs.key!, true); // [B, Lk, kdim]
  const value = x ?? toHeed(f.inputs.value!, true); // [B, Lk, vdim]
  const needWeights = f.config.need_weights !== false;
  const averaged = layer.forward(query, key, value, { ...options, needWeights });
  assertClose('attn_output', averaged.output, f.outputs.attn_output!);
  if (needWeights) {
    assertClose('attn_weights', averaged.weights!, f.outputs.attn_weights!);
    const perHead = layer.forward(query, key, value, { ...options, averageHeadWeights: false });
    assertClose('attn_weights_per_head', perHead.weights!, f.outputs.attn_weights_per_head!);
    assertClose('attn_output (per-head call)', perHead.output, f.outputs.attn_output!);
  } else {
    expect(averaged.weights).toBeNull();
  }
  sum(mul(averaged.output, toHeed(f.grad_outputs!.attn_output!))).backward();
  const inputs: Tensors = x ? { x } : { query, key, value };
  for (const [name, ref] of Object.entries(f.grads!.inputs!)) assertClose(`grad ${name}`, inputs[name]!.grad!, ref);
  const grads = layer.torchStateDictGradients();
  expect(Object.keys(grads).sort()).toEqual(Object.keys(f.grads!.params!).sort());
  for (const [name, ref] of Object.entries(f.grads!.params!)) assertClose(`grad ${name}`, grads[name]!, ref);
}

describe('MultiHeadAttention against PyTorch nn.MultiheadAttention (after loadTorchStateDict)', () => {
  it('mha_self_attention: E=16, H=4, x passed as query, key and value', () => {
    checkMhaFixture(loadFixture('mha_self_attention'));
  });

  it('mha_cross_kdim_vdim: kdim=6, vdim=5 (separate q/k/v_proj_weight)', () => {
    checkMhaFixture(loadFixture('mha_cross_kdim_vdim'));
  });

  it('mha_key_padding_and_attn_mask: keep-masks, and the same as additive masks', () => {
    const f = loadFixture('mha_key_padding_and_attn_mask');
    checkMhaFixture(f, {
      keyPaddingMask: torchMaskToKeep(f.inputs.key_padding_mask!),
      attentionMask: torchMaskToKeep(f.inputs.attn_mask!),
    });
    const [B, Lk] = f.inputs.key_padding_mask!.shape as [number, number];
    const padding = toHeed(f.inputs.key_padding_mask_additive!).reshape([B, 1, Lk]); // [B, 1, Lk]
    checkMhaFixture(f, { additiveMask: add(toHeed(f.inputs.attn_mask_additive!), padding) }); // [B, Lq, Lk]
    checkMhaFixture(f, { keyPaddingMask: torchMaskToKeep(f.inputs.key_padding_mask!), additiveMask: toHeed(f.inputs.attn_mask_additive!) });
  });

  it('mha_causal: causal: true, the explicit keep-mask and the additive mask agree with PyTorch', () => {
    const f = loadFixture('mha_causal');
    checkMhaFixture(f, { causal: true });
    checkMhaFixture(f, { attentionMask: torchMaskToKeep(f.inputs.attn_mask!) });
    checkMhaFixture(f, { additiveMask: toHeed(f.inputs.attn_mask_additive!) });
  });

  it('mha_no_bias_need_weights_false: no biases, weights not returned', () => {
    const f = loadFixture('mha_no_bias_need_weights_false');
    const layer = fixtureLayer(f);
    expect(layer.namedParameters().map(([n]) => n)).toEqual([
      'queryProjection.weight',
      'keyProjection.weight',
      'valueProjection.weight',
      'outputProjection.weight',
    ]);
    checkMhaFixture(f, {}, layer);
  });

  it('GQA with numKeyValueHeads == numHeads is plain multi-head attention (mha_self_attention)', () => {
    const f = loadFixture('mha_self_attention');
    checkMhaFixture(f, {}, fixtureLayer(f, { numKeyValueHeads: 4 }));
    const x = toHeed(f.inputs.x!);
    const plain = fixtureLayer(f).forward(x, x, x, { averageHeadWeights: false });
    const grouped = fixtureLayer(f, { numKeyValueHeads: 4 }).forward(x, x, x, { averageHeadWeights: false });
    expect(Array.from(grouped.output.data)).toEqual(Array.from(plain.output.data));
    expect(Array.from(grouped.weights!.data)).toEqual(Array.from(plain.weights!.data));
  });
});

describe('fully masked rows (PyTorch gives NaN: torch_behaviour_mha_fully_masked_rows)', () => {
  const f = loadFixture('torch_behaviour_mha_fully_masked_rows');
  const observed = f.observed as unknown as {
    scenario: string;
    attn_output: { shape: number[]; data: (number | string)[] };
    attn_weights?: { shape: number[]; data: (number | string)[] };
  }[];
  const [B, L, E] = f.inputs.x!.shape as [number, number, number];
  const outBias = values(f.params['out_proj.bias']!);

  /** Rows (b, i) PyTorch left finite must match it; the fully masked rows give output = out_proj.bias and zero weights. */
  function check(
    options: MultiHeadForwardOptions,
    reference: (typeof observed)[number],
    fullyMasked: (b: number, i: number) => boolean,
  ): void {
    const layer = fixtureLayer(f);
    const x = toHeed(f.inputs.x!, true); // [B, L, E]
    const { output, weights } = layer.forward(x, x, x, options);
    const refOut = values(reference.attn_output as never);
    const refWeights = values(reference.attn_weights as never);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < L; i++) {
        const row = (t: Tensor, width: number) => ({ shape: [width], data: t.data.subarray((b * L + i) * width, (b * L + i + 1) * width) });
        if (fullyMasked(b, i)) {
          expect(Array.from(row(weights!, L).data)).toEqual(new Array(L).fill(0));
          assertClose(`output row ${b},${i}`, row(output, E), { shape: [E], data: outBias });
        } else {
          expect(Number.isNaN(refOut[(b * L + i) * E])).toBe(false);
          assertClose(`output row ${b},${i}`, row(output, E), { shape: [E], data: refOut.subarray((b * L + i) * E, (b * L + i + 1) * E) });
          assertClose(`weights row ${b},${i}`, row(weights!, L), {
            shape: [L],
            data: refWeights.subarray((b * L + i) * L, (b * L + i + 1) * L),
          });
        }
      }
    sum(mul(output, toHeed(f.grad_outputs!.attn_output!))).backward();
    expect(x.grad!.data.every(Number.isFinite)).toBe(true);
    for (const [name, g] of Object.entries(layer.torchStateDictGradients()))
      expect(g.data.every(Number.isFinite), `grad ${name}`).toBe(true);
  }

  it('a key padding mask hiding every key of batch element 0: zeros, PyTorch elsewhere, finite gradients, none from the masked rows', () => {
    check({ keyPaddingMask: torchMaskToKeep(f.inputs.key_padding_mask!) }, observed[0]!, (b) => b === 0);
    // batch element 0 is only the output bias: no gradient reaches its inputs
    const layer = fixtureLayer(f);
    const x = toHeed(f.inputs.x!, true);
    sum(
      mul(
        layer.forward(x, x, x, { keyPaddingMask: torchMaskToKeep(f.inputs.key_padding_mask!) }).output,
        toHeed(f.grad_outputs!.attn_output!),
      ),
    ).backward();
    expect(Array.from(x.grad!.data.subarray(0, L * E))).toEqual(new Array(L * E).fill(0));
  });

  it('an attention mask hiding every key of query 0 (keep-mask and additive −∞): zeros there, PyTorch elsewhere', () => {
    check({ attentionMask: torchMaskToKeep(f.inputs.attn_mask!) }, observed[3]!, (_, i) => i === 0);
    check({ additiveMask: toHeed(f.inputs.attn_mask_additive!) }, observed[4]!, (_, i) => i === 0);
  });

  it('with addZeroAttn or addBiasKv a fully masked row still sees the extra keys, finitely', () => {
    for (const extra of [{ addZeroAttn: true }, { addBiasKv: true }]) {
      const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, ...extra, rng: new Rng(3) });
      const x = toHeed(f.inputs.x!, true);
      const { output, weights } = layer.forward(x, x, x, { keyPaddingMask: torchMaskToKeep(f.inputs.key_padding_mask!) });
      expect(weights!.shape).toEqual([B, L, L + 1]);
      for (let i = 0; i < L; i++) expect(weights!.data[i * (L + 1) + L]).toBeCloseTo(1, 6); // batch 0: all weight on the extra key
      sum(output).backward();
      expect([...output.data, ...x.grad!.data].every(Number.isFinite)).toBe(true);
    }
  });
});

/** Random PyTorch-style weights for a layer (Ekv = Hkv·d rows for keys and values). */
function randomWeights(rng: Rng, E: number, Ekv: number, kdim: number, vdim: number, withBiasKv = false): NaiveWeights {
  const r = (n: number) => randn([n], rng).mul(0.5).data;
  return {
    Wq: r(E * E),
    bq: r(E),
    Wk: r(Ekv * kdim),
    bk: r(Ekv),
    Wv: r(Ekv * vdim),
    bv: r(Ekv),
    Wo: r(E * E),
    bo: r(E),
    ...(withBiasKv ? { biasK: r(Ekv), biasV: r(Ekv) } : {}),
  };
}

/** The same weights under PyTorch's names (separate projections, valid for any kdim/vdim). */
function asTorchDict(w: NaiveWeights, E: number, Ekv: number, kdim: number, vdim: number): Tensors {
  const t = (data: ArrayLike<number>, shape: number[]) => new Tensor(Float32Array.from(data), shape);
  const dict: Tensors = {
    q_proj_weight: t(w.Wq, [E, E]),
    k_proj_weight: t(w.Wk, [Ekv, kdim]),
    v_proj_weight: t(w.Wv, [Ekv, vdim]),
    in_proj_bias: t([...Array.from(w.bq!), ...Array.from(w.bk!), ...Array.from(w.bv!)], [E + 2 * Ekv]),
    'out_proj.weight': t(w.Wo, [E, E]),
    'out_proj.bias': t(w.bo!, [E]),
  };
  if (w.biasK) Object.assign(dict, { bias_k: t(w.biasK, [1, 1, Ekv]), bias_v: t(w.biasV!, [1, 1, Ekv]) });
  return dict;
}

describe('grouped-query and multi-query attention against a naive per-head loop', () => {
  const cases = [
    { name: 'MQA (Hkv = 1)', numHeads: 4, numKeyValueHeads: 1 },
    { name: 'GQA (H = 4, Hkv = 2)', numHeads: 4, numKeyValueHeads: 2 },
    { name: 'MHA (H = Hkv = 2)', numHeads: 2, numKeyValueHeads: 2 },
  ];
  for (const c of cases) {
    it(`${c.name}: output and per-head weights, cross-attention with kdim ≠ vdim ≠ E and a causal mask`, () => {
      const rng = new Rng(11);
      const [B, Lq, Lk, E, kdim, vdim] = [2, 3, 5, 8, 6, 5];
      const Ekv = c.numKeyValueHeads * (E / c.numHeads);
      const w = randomWeights(rng, E, Ekv, kdim, vdim);
      const layer = new MultiHeadAttention({
        embedDim: E,
        numHeads: c.numHeads,
        numKeyValueHeads: c.numKeyValueHeads,
        keyDim: kdim,
        valueDim: vdim,
      });
      layer.loadTorchStateDict(asTorchDict(w, E, Ekv, kdim, vdim));
      expect(layer.keyProjection.weight.shape).toEqual([Ekv, kdim]);
      const [query, key, value] = [randn([B, Lq, E], rng), randn([B, Lk, kdim], rng), randn([B, Lk, vdim], rng)];
      const keyPaddingMask = tensor([
        [1, 1, 1, 1, 0],
        [1, 0, 1, 1, 1],
      ]); // [B, Lk]
      const { output, weights } = layer.forward(query, key, value, { causal: true, keyPaddingMask, averageHeadWeights: false });
      const ref = naiveMultiHead(query, key, value, w, { ...c, keep: (b, _h, i, j) => j <= i && keyPaddingMask.data[b * Lk + j] === 1 });
      assertClose('output', output, { shape: [B, Lq, E], data: ref.output });
      assertClose('weights', weights!, { shape: [B, c.numHeads, Lq, Lk], data: ref.weights });
    });
  }

  it('MQA parameter gradients match central finite differences', () => {
    const rng = new Rng(5);
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2, numKeyValueHeads: 1, rng });
    const [query, key] = [randn([1, 2, 4], rng), randn([1, 3, 4], rng)];
    const upstream = randn([1, 2, 4], rng);
    const loss = () => sum(mul(layer.forward(query, key, key, { needWeights: false }).output, upstream));
    loss().backward();
    for (const [name, p] of layer.namedParameters()) expectNumericGradient(name, p, () => loss().item());
  });

  it('refuses numHeads not divisible by numKeyValueHeads, naming both', () => {
    const make = () => new MultiHeadAttention({ embedDim: 12, numHeads: 6, numKeyValueHeads: 4 });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow('MultiHeadAttention: numHeads 6 is not divisible by numKeyValueHeads 4');
  });
});

function expectNumericGradient(name: string, p: Parameter, lossValue: () => number, eps = 1e-2): void {
  const analytic = p.grad!.data;
  for (let i = 0; i < p.size; i++) {
    const original = p.data[i]!;
    p.data[i] = original + eps;
    const up = lossValue();
    p.data[i] = original - eps;
    const down = lossValue();
    p.data[i] = original;
    const numeric = (up - down) / (2 * eps);
    expect(Math.abs(analytic[i]! - numeric), `${name}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`).toBeLessThan(
      2e-3 + 1e-2 * Math.abs(numeric),
    );
  }
}

describe('addBiasKv and addZeroAttn against a naive loop', () => {
  for (const [addBiasKv, addZeroAttn] of [
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`addBiasKv=${addBiasKv}, addZeroAttn=${addZeroAttn}: output, weights over Lk + X keys, masks padded`, () => {
      const rng = new Rng(21);
      const [B, Lq, Lk, E] = [2, 3, 4, 8];
      const w = randomWeights(rng, E, E, E, E, addBiasKv);
      const layer = new MultiHeadAttention({ embedDim: E, numHeads: 2, keyDim: E, valueDim: E, addBiasKv, addZeroAttn });
      layer.loadTorchStateDict(asTorchDict(w, E, E, E, E));
      const [query, key] = [randn([B, Lq, E], rng), randn([B, Lk, E], rng)];
      const attentionMask = tensor([
        [1, 0, 1, 1],
        [0, 0, 0, 0],
        [1, 1, 0, 1],
      ]); // [Lq, Lk], row 1 fully masked
      const { output, weights } = layer.forward(query, key, key, { attentionMask, averageHeadWeights: false });
      const ref = naiveMultiHead(query, key, key, w, {
        numHeads: 2,
        addZeroAttn,
        keep: (_b, _h, i, j) => attentionMask.data[i * Lk + j] === 1,
      });
      const X = Number(addBiasKv) + Number(addZeroAttn);
      expect(weights!.shape).toEqual([B, 2, Lq, Lk + X]);
      assertClose('output', output, { shape: [B, Lq, E], data: ref.output });
      assertClose('weights', weights!, { shape: [B, 2, Lq, Lk + X], data: ref.weights });
    });
  }

  it('loads and exports bias_k and bias_v [1, 1, E]', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2, addBiasKv: true });
    expect(layer.biasKey!.shape).toEqual([1, 1, 4]);
    expect(Object.keys(layer.torchStateDict())).toEqual([
      'in_proj_weight',
      'in_proj_bias',
      'bias_k',
      'bias_v',
      'out_proj.weight',
      'out_proj.bias',
    ]);
  });
});

describe('MultiHeadAttention equivalences', () => {
  it('one head with identity projections is attend()', () => {
    const rng = new Rng(2);
    const d = 4;
    const layer = new MultiHeadAttention({ embedDim: d, numHeads: 1, bias: false });
    const identity = Float32Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0));
    for (const p of [layer.queryProjection.weight, layer.keyProjection.weight, layer.valueProjection.weight, layer.outputProjection.weight])
      p.data.set(identity);
    const [query, keys, values] = [randn([2, 3, d], rng), randn([2, 5, d], rng), randn([2, 5, d], rng)];
    const keyPaddingMask = tensor([
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
    ]);
    const got = layer.forward(query, keys, values, { keyPaddingMask });
    const want = attend({ query, keys, values, keyPaddingMask });
    assertClose('output', got.output, want.context, { rtol: 1e-6, atol: 1e-7 });
    assertClose('weights', got.weights!, want.weights, { rtol: 1e-6, atol: 1e-7 });
  });

  it('a batch of two equals two single runs (outputs, weights and gradients)', () => {
    const rng = new Rng(8);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, numKeyValueHeads: 1, rng });
    const x = randn([2, 4, 8], rng, { requiresGrad: true });
    const keyPaddingMask = tensor([
      [1, 1, 0, 1],
      [1, 1, 1, 0],
    ]);
    const both = layer.forward(x, x, x, { causal: true, keyPaddingMask, averageHeadWeights: false });
    sum(mul(both.output, both.output)).backward();
    for (let b = 0; b < 2; b++) {
      const xb = new Tensor(x.data.slice(b * 32, (b + 1) * 32), [1, 4, 8], true);
      const one = layer.forward(xb, xb, xb, {
        causal: true,
        keyPaddingMask: slice(keyPaddingMask, 0, b, b + 1),
        averageHeadWeights: false,
      });
      assertClose(`output ${b}`, one.output, slice(both.output, 0, b, b + 1), { rtol: 1e-6, atol: 1e-6 });
      assertClose(`weights ${b}`, one.weights!, slice(both.weights!, 0, b, b + 1), { rtol: 1e-6, atol: 1e-6 });
      sum(mul(one.output, one.output)).backward();
      assertClose(
        `grad x ${b}`,
        xb.grad!,
        { shape: [1, 4, 8], data: x.grad!.data.subarray(b * 32, (b + 1) * 32) },
        { rtol: 1e-5, atol: 1e-6 },
      );
    }
  });

  it('causal: true equals the explicit lower-triangular keep-mask', () => {
    const rng = new Rng(4);
    const layer = new MultiHeadAttention({ embedDim: 6, numHeads: 3, rng });
    const x = randn([2, 5, 6], rng);
    const lower = tensor(Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => (j <= i ? 1 : 0))));
    const a = layer.forward(x, x, x, { causal: true, averageHeadWeights: false });
    const b = layer.forward(x, x, x, { attentionMask: lower, averageHeadWeights: false });
    expect(Array.from(a.output.data)).toEqual(Array.from(b.output.data));
    expect(Array.from(a.weights!.data)).toEqual(Array.from(b.weights!.data));
  });

  it('needWeights: false (attend may fuse) returns null, the same output and the same gradients', () => {
    for (const options of [
      { numKeyValueHeads: 1 },
      { addZeroAttn: true },
      { addBiasKv: true, numKeyValueHeads: 1 },
      { scorer: { kind: 'general' } },
    ]) {
      const rng = new Rng(6);
      const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng, ...options });
      const x = randn([2, 5, 8], rng);
      const keyPaddingMask = tensor([
        [1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1],
      ]);
      const run = (needWeights: boolean) => {
        layer.zeroGrad();
        const input = new Tensor(x.data.slice(), x.shape, true);
        const result = layer.forward(input, input, input, { causal: true, keyPaddingMask, needWeights });
        sum(mul(result.output, result.output)).backward();
        return { result, grads: [input.grad!, ...layer.parameters().map((p) => p.grad!)] };
      };
      const [withWeights, without] = [run(true), run(false)];
      expect(without.result.weights).toBeNull();
      assertClose('output', without.result.output, withWeights.result.output, { rtol: 1e-5, atol: 1e-6 });
      without.grads.forEach((g, i) => assertClose(`gradient ${i}`, g, withWeights.grads[i]!, { rtol: 1e-4, atol: 1e-5 }));
    }
  });

  it('averaged weights are the mean of the per-head weights; each row sums to 1', () => {
    const rng = new Rng(7);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 4, rng });
    const x = randn([2, 3, 8], rng);
    const perHead = layer.forward(x, x, x, { averageHeadWeights: false }).weights!; // [B, H, Lq, Lk]
    const averaged = layer.forward(x, x, x).weights!; // [B, Lq, Lk]
    expect(averaged.shape).toEqual([2, 3, 3]);
    for (let b = 0; b < 2; b++)
      for (let r = 0; r < 9; r++) {
        let m = 0;
        for (let h = 0; h < 4; h++) m += perHead.data[(b * 4 + h) * 9 + r]! / 4;
        expect(averaged.data[b * 9 + r]).toBeCloseTo(m, 6);
      }
    for (let r = 0; r < 6; r++) expect(averaged.data[r * 3]! + averaged.data[r * 3 + 1]! + averaged.data[r * 3 + 2]!).toBeCloseTo(1, 6);
  });
});

describe('any scorer per head, any normalizer', () => {
  /** The layer computed head by head with public ops: project, slice head h, attend with the head's scorer, concatenate, project. */
  function headByHead(layer: MultiHeadAttention, x: Tensor, normalizer?: { kind: string }): { output: Tensor; weights: Tensor[] } {
    const d = layer.headDim;
    const q = linear(x, layer.queryProjection.weight, layer.queryProjection.bias); // [B, L, E]
    const k = linear(x, layer.keyProjection.weight, layer.keyProjection.bias); // [B, L, E]
    const v = linear(x, layer.valueProjection.weight, layer.valueProjection.bias); // [B, L, E]
    const heads = Array.from({ length: layer.numHeads }, (_, h) =>
      attend({
        query: slice(q, -1, h * d, (h + 1) * d), // [B, L, d]
        keys: slice(k, -1, h * d, (h + 1) * d),
        values: slice(v, -1, h * d, (h + 1) * d),
        scorer: layer.scorers[layer.scorers.length === 1 ? 0 : h]!,
        normalizer,
      }),
    );
    const merged = concat(
      heads.map((r) => r.context),
      -1,
    ); // [B, L, E]
    return { output: linear(merged, layer.outputProjection.weight, layer.outputProjection.bias), weights: heads.map((r) => r.weights) };
  }

  it('an additive (Bahdanau) multi-head layer: one scorer per head, each with its own parameters', () => {
    const rng = new Rng(12);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, scorer: { kind: 'additive', hiddenDim: 5 }, rng });
    expect(layer.scorers).toHaveLength(2);
    expect(layer.scorers[0]).toBeInstanceOf(AdditiveScorer);
    const names = layer.namedParameters().map(([n]) => n);
    expect(names).toContain('scorers.0.W1.weight');
    expect(names).toContain('scorers.1.v.weight');
    expect((layer.scorers[0] as AdditiveScorer).W1.weight.shape).toEqual([5, 4]);
    expect(Array.from((layer.scorers[0] as AdditiveScorer).W1.weight.data)).not.toEqual(
      Array.from((layer.scorers[1] as AdditiveScorer).W1.weight.data),
    );
    const x = randn([2, 3, 8], rng);
    const got = layer.forward(x, x, x, { averageHeadWeights: false });
    const want = headByHead(layer, x);
    assertClose('output', got.output, want.output, { rtol: 1e-5, atol: 1e-6 });
    const x2 = randn([1, 3, 8], rng, { requiresGrad: true });
    sum(layer.forward(x2, x2, x2).output).backward();
    for (const [name, p] of layer.namedParameters()) expect(p.grad, name).not.toBeNull();
  });

  it('a sparsemax multi-head layer: exact zeros, rows sum to 1, equal to head-by-head attend', () => {
    const rng = new Rng(13);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, normalizer: { kind: 'sparsemax' }, rng });
    const x = randn([2, 4, 8], rng).mul(3);
    const got = layer.forward(x, x, x, { averageHeadWeights: false });
    const want = headByHead(layer, x, { kind: 'sparsemax' });
    assertClose('output', got.output, want.output, { rtol: 1e-5, atol: 1e-6 });
    for (let h = 0; h < 2; h++) {
      const [B, L] = [2, 4];
      for (let b = 0; b < B; b++)
        for (let i = 0; i < L * L; i++)
          expect(got.weights!.data[(b * 2 + h) * L * L + i]).toBeCloseTo(want.weights[h]!.data[b * L * L + i]!, 5);
    }
    expect(Array.from(got.weights!.data).filter((w) => w === 0).length).toBeGreaterThan(0);
  });

  it('a parameter-free kind is one instance serving every head; a Scorer instance is used as given', () => {
    expect(new MultiHeadAttention({ embedDim: 8, numHeads: 4, scorer: { kind: 'cosine', temperature: 0.5 } }).scorers).toHaveLength(1);
    const shared = new AdditiveScorer({ queryDim: 2, keyDim: 2 });
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 4, scorer: shared });
    expect(layer.scorers).toEqual([shared]);
    expect(layer.forward(randn([1, 2, 8], new Rng(0)), randn([1, 3, 8], new Rng(1)), randn([1, 3, 8], new Rng(2))).output.shape).toEqual([
      1, 2, 8,
    ]);
  });

  it('scaled-dot uses 1/√d of the head size by default', () => {
    const f = loadFixture('mha_self_attention'); // scaling 0.5 = 1/√4 with E=16, H=4
    checkMhaFixture(f, {}, fixtureLayer(f, {}));
    const layer = fixtureLayer(f);
    const x = toHeed(f.inputs.x!);
    const withExplicitScale = new MultiHeadAttention({
      embedDim: 16,
      numHeads: 4,
      scorer: { kind: 'scaled-dot', scale: f.config.scaling as number },
    });
    withExplicitScale.loadTorchStateDict(layer.torchStateDict());
    assertClose('output', withExplicitScale.forward(x, x, x).output, f.outputs.attn_output!, FLOAT32);
  });
});

describe('MultiHeadAttention refuses bad configurations and inputs', () => {
  it('constructor: embedDim % numHeads, bad sizes, dropout, unknown scorer kind — naming the values', () => {
    expect(() => new MultiHeadAttention({ embedDim: 10, numHeads: 3 })).toThrow(
      'MultiHeadAttention: embedDim 10 is not divisible by numHeads 3',
    );
    expect(() => new MultiHeadAttention({ embedDim: 0, numHeads: 1 })).toThrow('embedDim must be a positive integer, got 0');
    expect(() => new MultiHeadAttention({ embedDim: 8, numHeads: 2, keyDim: 2.5 })).toThrow('keyDim must be a positive integer, got 2.5');
    expect(() => new MultiHeadAttention({ embedDim: 8, numHeads: 2, dropout: 1 })).toThrow(
      'dropout must be a probability in [0, 1), got 1',
    );
    const unknown = () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, scorer: { kind: 'nope' } });
    expect(unknown).toThrow(ConfigError);
    expect(unknown).toThrow(
      "MultiHeadAttention: scorer: unknown scorer kind 'nope'; known kinds: dot, scaled-dot, general, concat, additive, cosine",
    );
    try {
      unknown();
    } catch (error) {
      expect((error as ConfigError).argument).toBe('scorer');
    }
  });

  it('forward: feature sizes, batch sizes and lengths that do not fit, naming the shapes', () => {
    const rng = new Rng(0);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, keyDim: 6, valueDim: 5 });
    const [query, key, value] = [randn([2, 3, 8], rng), randn([2, 4, 6], rng), randn([2, 4, 5], rng)];
    const cases: [() => unknown, string, string][] = [
      [() => layer.forward(randn([2, 3, 7], rng), key, value), 'query', 'query [2, 3, 7] must be [B, Lq, embedDim] = [B, Lq, 8]'],
      [() => layer.forward(query, randn([2, 4, 8], rng), value), 'key', 'key [2, 4, 8] must be [B, Lk, keyDim] = [B, Lk, 6]'],
      [() => layer.forward(query, key, randn([2, 4, 6], rng)), 'value', 'value [2, 4, 6] must be [B, Lk, valueDim] = [B, Lk, 5]'],
      [() => layer.forward(randn([3, 8], rng), key, value), 'query', 'query [3, 8] must be [B, Lq, embedDim]'],
      [() => layer.forward(query, randn([1, 4, 6], rng), randn([1, 4, 5], rng)), 'key', 'must have the same batch size B'],
      [() => layer.forward(query, key, randn([2, 3, 5], rng)), 'value', 'key [2, 4, 6] and value [2, 3, 5] must have the same length Lk'],
    ];
    for (const [call, argument, message] of cases) {
      expect(call).toThrow(ShapeError);
      expect(call).toThrow(message);
      try {
        call();
      } catch (error) {
        expect((error as HeedError).op).toBe('MultiHeadAttention.forward');
        expect((error as HeedError).argument).toBe(argument);
      }
    }
  });

  it('forward: masks of the wrong shape, naming mask and expected shapes', () => {
    const rng = new Rng(0);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    const [q, k] = [randn([2, 3, 8], rng), randn([2, 4, 8], rng)];
    expect(() =>
      layer.forward(q, k, k, {
        attentionMask: tensor([
          [1, 1, 1],
          [1, 1, 1],
          [1, 1, 1],
        ]),
      }),
    ).toThrow('attentionMask [3, 3] must be [Lq, Lk] = [3, 4], [B, Lq, Lk] = [2, 3, 4] or [B, H, Lq, Lk] = [2, 2, 3, 4]');
    expect(() => layer.forward(q, k, k, { attentionMask: randn([3, 3, 4], rng) })).toThrow('attentionMask [3, 3, 4] must be');
    expect(() => layer.forward(q, k, k, { attentionMask: randn([2, 3, 3, 4], rng) })).toThrow(ShapeError);
    expect(() => layer.forward(q, k, k, { keyPaddingMask: tensor([[1, 1, 1]]) })).toThrow('keyPaddingMask [1, 3] must be [B, Lk] = [2, 4]');
    expect(() => layer.forward(q, k, k, { additiveMask: randn([4, 3], rng) })).toThrow('additiveMask [4, 3] must be [Lq, Lk] = [3, 4]');
    // broadcastable shapes are accepted
    expect(layer.forward(q, k, k, { attentionMask: tensor([[[[1, 0, 1, 1]]], [[[1, 1, 1, 0]]]]) }).output.shape).toEqual([2, 3, 8]); // [B, 1, 1, Lk]
  });

  it('a forward that throws leaves the cache as it was (nothing appended)', () => {
    const rng = new Rng(6);
    // A shared scorer instance built for another head size refuses the head size 4 after the keys were projected.
    const layer = new MultiHeadAttention({
      embedDim: 8,
      numHeads: 2,
      scorer: new AdditiveScorer({ queryDim: 3, keyDim: 3, hiddenDim: 5, rng }),
      rng,
    });
    const cache = layer.createCache();
    const x = randn([1, 2, 8], rng);
    expect(() => layer.forward(x, x, x, { cache })).toThrow(ShapeError);
    expect([cache.length, cache.keys]).toEqual([0, null]);
    // A cache holding keys keeps exactly those keys when a later call is refused (here: a bad mask).
    const ok = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng });
    const filled = ok.createCache();
    ok.forward(x, x, x, { cache: filled });
    const held = filled.keys!;
    expect(() => ok.forward(x, x, x, { cache: filled, keyPaddingMask: tensor([[1, 1]]) })).toThrow(ShapeError); // must cover all 4 keys
    expect(filled.length).toBe(2);
    expect(filled.keys).toBe(held);
    let refused: HeedError | null = null;
    try {
      ok.forward(x, x, x, { cache: filled, causal: { offset: 0.5 } });
    } catch (error) {
      refused = error as HeedError;
    }
    expect([refused?.op, refused?.argument]).toEqual(['MultiHeadAttention.forward', 'causal']);
    expect(filled.length).toBe(2);
  });

  it('takes implementation like every call: fused refuses sparsemax naming MultiHeadAttention.forward; NaN at padded keys is never read', () => {
    const rng = new Rng(8);
    const sparse = new MultiHeadAttention({ embedDim: 8, numHeads: 2, normalizer: 'sparsemax', rng });
    const x = randn([2, 3, 8], rng);
    let refused: HeedError | null = null;
    try {
      sparse.forward(x, x, x, { implementation: 'fused', needWeights: false });
    } catch (error) {
      refused = error as HeedError;
    }
    expect(refused).toBeInstanceOf(ConfigError);
    expect([refused?.op, refused?.argument]).toEqual(['MultiHeadAttention.forward', 'implementation']);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng });
    const memory = randn([2, 5, 8], rng);
    const dirty = new Tensor(memory.data.slice(), memory.shape);
    dirty.data.fill(NaN, 3 * 8, 5 * 8); // batch 0, keys 3 and 4: padding
    const keyPaddingMask = tensor([
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
    ]);
    for (const implementation of ['plain', 'fused'] as const) {
      const got = layer.forward(x, dirty, dirty, { keyPaddingMask, implementation, needWeights: false }).output;
      const clean = layer.forward(x, memory, memory, { keyPaddingMask, implementation: 'plain' }).output;
      assertClose(`output (${implementation})`, got, clean, FLOAT32);
    }
  });

  it("kind names are shorthands: scorer 'dot', normalizer 'sparsemax'", () => {
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, scorer: 'dot', normalizer: 'sparsemax' });
    expect([layer.scorers[0]!.kind, layer.normalizer.kind]).toEqual(['dot', 'sparsemax']);
  });

  it('dropout on the weights: seeded, and off in eval mode', () => {
    const rng = new Rng(1);
    const x = randn([1, 4, 8], rng);
    const make = () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, dropout: 0.5, rng: new Rng(9) });
    const [a, b] = [make(), make()];
    expect(Array.from(a.forward(x, x, x).output.data)).toEqual(Array.from(b.forward(x, x, x).output.data));
    const plain = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: new Rng(9) });
    expect(Array.from(a.forward(x, x, x).output.data)).not.toEqual(Array.from(plain.forward(x, x, x).output.data));
    a.eval();
    expect(Array.from(a.forward(x, x, x).output.data)).toEqual(Array.from(plain.forward(x, x, x).output.data));
  });

  it('names its parameters spelled out, in forward order', () => {
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, numKeyValueHeads: 1, addBiasKv: true });
    expect(layer.namedParameters().map(([n, p]) => `${n} [${p.shape.join(', ')}]`)).toEqual([
      'queryProjection.weight [8, 8]',
      'queryProjection.bias [8]',
      'keyProjection.weight [4, 8]',
      'keyProjection.bias [4]',
      'valueProjection.weight [4, 8]',
      'valueProjection.bias [4]',
      'biasKey [1, 1, 4]',
      'biasValue [1, 1, 4]',
      'outputProjection.weight [8, 8]',
      'outputProjection.bias [8]',
    ]);
  });
});

describe('MultiHeadAttention on the fused path', () => {
  it("hands the projections to the fused kernel as they are: layout 'sequence-first', groupSize H / Hkv, one call", () => {
    const { problems, restore } = spyOnFused();
    try {
      const rng = new Rng(3);
      const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2, rng });
      const x = randn([2, 5, 8], rng);
      layer.forward(x, x, x, { causal: true, needWeights: false });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ n: 8, groupSize: 2, layout: 'sequence-first', heads: 4, causalOffset: 0, attentionMask: null });
      // With a cache the keys are kept [B, Hkv, L, d]: heads-first.
      layer.forward(x, x, x, { needWeights: false, cache: layer.createCache() });
      expect(problems[1]!.layout ?? 'heads-first').toBe('heads-first');
    } finally {
      restore();
    }
  });

  it('with a cache, causal reaches the kernel as the offset = cached length, never as a mask; masks are checked once', () => {
    const { problems, restore } = spyOnFused();
    try {
      const rng = new Rng(4);
      const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng });
      const cache = layer.createCache();
      const x = randn([1, 6, 8], rng);
      layer.forward(slice(x, 1, 0, 4), slice(x, 1, 0, 4), slice(x, 1, 0, 4), { causal: true, cache, needWeights: false });
      layer.forward(slice(x, 1, 4, 6), slice(x, 1, 4, 6), slice(x, 1, 4, 6), { causal: true, cache, needWeights: false });
      expect(problems.map((p) => [p.causalOffset, p.attentionMask, p.keyLength])).toEqual([
        [0, null, 4],
        [4, null, 6],
      ]);
    } finally {
      restore();
    }
  });

  it("the WebAssembly kernels give the JS kernels' outputs and gradients (GQA, padding, causal, bias key)", async () => {
    const run = (options: ConstructorParameters<typeof MultiHeadAttention>[0]) => {
      const rng = new Rng(9);
      const layer = new MultiHeadAttention({ ...options, rng });
      const x = randn([2, 70, options.embedDim], rng, { requiresGrad: true });
      const keyPaddingMask = tensor([Array.from({ length: 70 }, (_, j) => (j < 60 ? 1 : 0)), Array.from({ length: 70 }, () => 1)]); // [B, Lk]
      const { output } = layer.forward(x, x, x, { causal: true, keyPaddingMask, needWeights: false });
      sum(mul(output, randn(output.shape, rng))).backward();
      return [output, x.grad!, ...layer.parameters().map((p) => p.grad!)];
    };
    for (const options of [
      { embedDim: 32, numHeads: 4, numKeyValueHeads: 2 },
      { embedDim: 32, numHeads: 2, addBiasKv: true },
    ]) {
      useJsKernels();
      const js = run(options);
      expect(await useWasmKernels({ relaxedSimd: false })).toEqual({ simd: 'plain', threads: 1 });
      try {
        const wasm = run(options);
        wasm.forEach((t, i) => assertClose(`${JSON.stringify(options)} tensor ${i}`, t, js[i]!, { rtol: 1e-3, atol: 1e-4 }));
      } finally {
        useJsKernels();
      }
    }
  });
});
