import {
  ArgumentError,
  DeviceError,
  matmul,
  mul,
  randn,
  Rng,
  registerDevice,
  ShapeError,
  softmax,
  sum,
  tensor,
  type Tensor,
  toDevice,
  unregisterDevice,
} from '@heed/tensor';
import { createHostDeviceBackend } from '@heed/tensor/testing';
import { DotScorer, ScaledDotScorer } from '@heed/scorers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertClose, loadFixture, toHeed, torchMaskToKeep, type Fixture } from '../../../fixtures/load-fixture';
import { attend, type AttendOptions } from './attend';
import { causalMask } from './masks';

// Shape letters: B batch, Lq queries, Lk keys, d features, dv value features.

function runSdpaFixture(f: Fixture, extra: Partial<AttendOptions> = {}, tol = { rtol: 1e-4, atol: 1e-5 }) {
  const query = toHeed(f.inputs.query!, true); // [B, Lq, d]
  const keys = toHeed(f.inputs.key!, true); // [B, Lk, d]
  const values = toHeed(f.inputs.value!, true); // [B, Lk, dv]
  const scorer = new ScaledDotScorer({ scale: f.config.scale as number });
  const { context, weights } = attend({ query, keys, values, scorer, ...extra });
  assertClose('output', context, f.outputs.output!, tol);
  assertClose('attn_weights', weights!, f.outputs.attn_weights!, tol);
  if (f.grads) {
    sum(mul(context, toHeed(f.grad_outputs!.output!))).backward();
    assertClose('grad query', query.grad!, f.grads.inputs!.query!);
    assertClose('grad key', keys.grad!, f.grads.inputs!.key!);
    assertClose('grad value', values.grad!, f.grads.inputs!.value!);
  }
}

describe('attend, against PyTorch', () => {
  it('sdpa_no_mask: output, weights, gradients', () => runSdpaFixture(loadFixture('sdpa_no_mask')));
  it('sdpa_custom_scale (0.375)', () => runSdpaFixture(loadFixture('sdpa_custom_scale')));

  it('sdpa_causal with causal: true, with the explicit keep mask, and with the additive mask', () => {
    const f = loadFixture('sdpa_causal');
    runSdpaFixture(f, { causal: true });
    runSdpaFixture(f, { attentionMask: torchMaskToKeep(f.inputs.attn_mask!) });
    runSdpaFixture(f, { additiveMask: toHeed(f.inputs.attn_mask_additive!) });
  });

  it('sdpa_key_padding_mask as keyPaddingMask, as a [B, 1, Lk] mask, and as an additive mask', () => {
    const f = loadFixture('sdpa_key_padding_mask');
    const keep = torchMaskToKeep(f.inputs.key_padding_mask!); // [B, Lk]
    runSdpaFixture(f, { keyPaddingMask: keep });
    runSdpaFixture(f, { attentionMask: keep.reshape([2, 1, 5]) });
    runSdpaFixture(f, { additiveMask: toHeed(f.inputs.key_padding_mask_additive!).reshape([2, 1, 5]) });
  });

  it('sdpa_large_logits_* stay finite and accurate (float32 tolerance 1e-3)', () => {
    runSdpaFixture(loadFixture('sdpa_large_logits_scaled'), {}, { rtol: 1e-3, atol: 1e-3 });
    runSdpaFixture(loadFixture('sdpa_large_logits_offset'), {}, { rtol: 1e-3, atol: 1e-3 });
  });

  it('sparsemax_attention: sparse weights, output and gradients', () => {
    const f = loadFixture('sparsemax_attention');
    const query = toHeed(f.inputs.query!, true);
    const keys = toHeed(f.inputs.key!, true);
    const values = toHeed(f.inputs.value!, true);
    const { context, weights } = attend({
      query,
      keys,
      values,
      scorer: new ScaledDotScorer({ scale: 1 }),
      normalizer: { kind: 'sparsemax' },
    });
    assertClose('attn_weights', weights!, f.outputs.attn_weights!);
    assertClose('output', context, f.outputs.output!);
    expect(Array.from(weights!.data).filter((w) => w === 0).length).toBe(f.config.exact_zero_weights);
    sum(mul(context, toHeed(f.grad_outputs!.output!))).backward();
    assertClose('grad query', query.grad!, f.grads!.inputs!.query!);
    assertClose('grad key', keys.grad!, f.grads!.inputs!.key!);
    assertClose('grad value', values.grad!, f.grads!.inputs!.value!);
  });
});

function naiveAttention(q: Tensor, k: Tensor, v: Tensor, keep: (b: number, i: number, j: number) => boolean): number[] {
  // float64 loops: softmax(q·kᵀ/√d) over kept keys, zero rows when nothing is kept
  const [B, Lq, d] = q.shape as [number, number, number];
  const Lk = k.shape[1]!;
  const dv = v.shape[2]!;
  const out = new Array<number>(B * Lq * dv).fill(0);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < Lq; i++) {
      const s: number[] = [];
      for (let j = 0; j < Lk; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q.data[(b * Lq + i) * d + c]! * k.data[(b * Lk + j) * d + c]!;
        s.push(keep(b, i, j) ? dot / Math.sqrt(d) : -Infinity);
      }
      const m = Math.max(...s);
      if (m === -Infinity) continue;
      const e = s.map((x) => Math.exp(x - m));
      const total = e.reduce((a, x) => a + x, 0);
      for (let j = 0; j < Lk; j++)
        for (let c = 0; c < dv; c++) out[(b * Lq + i) * dv + c]! += (e[j]! / total) * v.data[(b * Lk + j) * dv + c]!;
    }
  return out;
}

describe('attend, behaviour', () => {
  const rng = new Rng(42);
  const q = randn([2, 4, 8], rng);
  const k = randn([2, 6, 8], rng);
  const v = randn([2, 6, 3], rng);

  it('equals a naive float64 implementation with causal and key padding combined', () => {
    const keyPaddingMask = tensor([
      [1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1, 1],
    ]);
    const { context } = attend({ query: q, keys: k, values: v, causal: true, keyPaddingMask });
    const ref = naiveAttention(q, k, v, (b, i, j) => j <= i && (b === 1 || j < 4));
    assertClose('context', context, { shape: [2, 4, 3], data: ref });
  });

  it('causal: true equals the explicit causal keep mask (outputs and gradients)', () => {
    const grads = (opts: Partial<AttendOptions>) => {
      const [qq, kk, vv] = [q, k, v].map((t) => t.clone()).map((t) => ((t.requiresGrad = true), t)) as [Tensor, Tensor, Tensor];
      const { context } = attend({ query: qq, keys: kk, values: vv, ...opts });
      sum(mul(context, context)).backward();
      return [context, qq.grad!, kk.grad!, vv.grad!];
    };
    const a = grads({ causal: true });
    const b = grads({ attentionMask: causalMask(4, 6) });
    a.forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(b[i]!.data)));
  });

  it('a fully masked row gives zero weights, zero context and finite, zero gradients — for every normalizer', () => {
    for (const normalizer of ['softmax', 'sparsemax', 'entmax15']) {
      const query = q.clone();
      query.requiresGrad = true;
      const keys = k.clone();
      keys.requiresGrad = true;
      const mask = tensor([
        [1, 1, 1, 1, 1, 1],
        [0, 0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 1],
      ]); // row 1 fully masked
      const { context, weights } = attend({ query, keys, values: v, attentionMask: mask, normalizer: { kind: normalizer } });
      for (let b = 0; b < 2; b++) {
        expect(Array.from(weights!.data.subarray((b * 4 + 1) * 6, (b * 4 + 2) * 6))).toEqual([0, 0, 0, 0, 0, 0]);
        expect(Array.from(context.data.subarray((b * 4 + 1) * 3, (b * 4 + 2) * 3))).toEqual([0, 0, 0]);
      }
      sum(context).backward();
      for (const g of [...query.grad!.data, ...keys.grad!.data]) expect(Number.isFinite(g)).toBe(true);
      for (let b = 0; b < 2; b++)
        expect(Array.from(query.grad!.data.subarray((b * 4 + 1) * 8, (b * 4 + 2) * 8))).toEqual(new Array(8).fill(0));
    }
  });

  it('logits of 1e4 stay finite and pick the largest', () => {
    const query = tensor([[[1e4, 0]]]);
    const keys = tensor([
      [
        [1, 0],
        [0.9, 0],
        [-1, 0],
      ],
    ]);
    const { weights, context } = attend({ query, keys, values: tensor([[[1], [2], [3]]]), scorer: new DotScorer() });
    expect(Array.from(weights!.data)).toEqual([1, 0, 0]);
    expect(context.data[0]).toBe(1);
  });

  it('weights sum to 1 per row for every normalizer', () => {
    for (const normalizer of ['softmax', 'sparsemax', 'entmax15']) {
      const { weights } = attend({ query: q, keys: k, values: v, normalizer: { kind: normalizer } });
      for (let r = 0; r < 8; r++) expect(Array.from(weights!.data.subarray(r * 6, r * 6 + 6)).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 5);
    }
  });

  it('dropout is seeded (same seed, same result) and off when not training', () => {
    const run = (seed: number, training = true) =>
      attend({ query: q, keys: k, values: v, dropout: 0.5, rng: new Rng(seed), training }).context.data;
    expect(Array.from(run(1))).toEqual(Array.from(run(1)));
    expect(Array.from(run(1))).not.toEqual(Array.from(run(2)));
    expect(Array.from(run(1, false))).toEqual(Array.from(attend({ query: q, keys: k, values: v }).context.data));
  });

  it('refuses keys and values of different lengths, and masks that do not broadcast, naming the shapes', () => {
    expect(() => attend({ query: q, keys: k, values: randn([2, 5, 3], rng) })).toThrow(ShapeError);
    expect(() => attend({ query: q, keys: k, values: randn([2, 5, 3], rng) })).toThrow(/keys \[2, 6, 8\] and values \[2, 5, 3\]/);
    expect(() => attend({ query: q, keys: k, values: v, attentionMask: tensor([[1, 0, 1]]) })).toThrow(
      /attentionMask \[1, 3\] does not broadcast to the scores \[2, 4, 6\]/,
    );
    expect(() => attend({ query: q, keys: k, values: v, keyPaddingMask: tensor([[1, 1, 1]]) })).toThrow(
      /keyPaddingMask \[1, 3\] must be \[B, Lk\] = \[2, 6\]/,
    );
    expect(() => attend({ query: q, keys: k, values: v, dropout: 1.5 })).toThrow(ArgumentError);
  });

  it('matches the plain tensor-op composition softmax(q kᵀ / √d) v', () => {
    const { context } = attend({ query: q, keys: k, values: v });
    const ref = matmul(softmax(mul(matmul(q, k, { transposeB: true }), 1 / Math.sqrt(8))), v);
    assertClose('context', context, ref);
  });
});

describe('attend on a device with an additiveMask built on the host (the host device backend)', () => {
  beforeAll(() => registerDevice(createHostDeviceBackend('attend-host')));
  afterAll(() => unregisterDevice('attend-host'));

  it('uploads the mask: the context equals a naive softmax(q·k + mask)·v, a row masked by −∞ everywhere giving zeros', async () => {
    const rng = new Rng(41);
    const [query, keys, values] = [randn([2, 3, 4], rng), randn([2, 5, 4], rng), randn([2, 5, 2], rng)]; // [B, Lq, d], [B, Lk, d], [B, Lk, dv]
    const mask = tensor([
      [0, -1, 0.5, 0, -Infinity],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      [2, 0, 0, -Infinity, 0],
    ]); // [Lq, Lk]
    const [q, k, v] = await Promise.all([query, keys, values].map((t) => toDevice(t, 'attend-host')));
    const { context } = attend({ query: q!, keys: k!, values: v!, scorer: new DotScorer(), additiveMask: mask, needWeights: false });
    expect(context.device).toBe('attend-host');
    const got = await context.read();
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 3; i++) {
        const logits = Array.from({ length: 5 }, (_, j) => {
          let dot = 0;
          for (let a = 0; a < 4; a++) dot += query.data[(b * 3 + i) * 4 + a]! * keys.data[(b * 5 + j) * 4 + a]!;
          return dot + mask.data[i * 5 + j]!;
        });
        const top = Math.max(...logits);
        const exps = logits.map((z) => (top === -Infinity ? 0 : Math.exp(z - top)));
        const total = exps.reduce((x, y) => x + y);
        for (let c = 0; c < 2; c++) {
          const reference = total === 0 ? 0 : exps.reduce((x, e, j) => x + (e / total) * values.data[(b * 5 + j) * 2 + c]!, 0);
          expect(got[(b * 3 + i) * 2 + c]).toBeCloseTo(reference, 5);
        }
      }
  });

  it('refuses a host mask that tracks a gradient (an upload would lose it), naming the device', async () => {
    const rng = new Rng(42);
    const [q, k, v] = await Promise.all(
      [randn([1, 2, 4], rng), randn([1, 3, 4], rng), randn([1, 3, 2], rng)].map((t) => toDevice(t, 'attend-host')),
    );
    const additiveMask = randn([2, 3], rng, { requiresGrad: true });
    expect(() => attend({ query: q!, keys: k!, values: v!, scorer: new DotScorer(), additiveMask })).toThrow(DeviceError);
    expect(() => attend({ query: q!, keys: k!, values: v!, scorer: new DotScorer(), additiveMask })).toThrow(/on 'cpu'.*attend-host/);
  });
});
