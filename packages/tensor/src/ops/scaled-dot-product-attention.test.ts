import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { assertClose, loadFixture, torchMaskToKeep, type Fixture, type FixtureTensor } from '../../../../fixtures/load-fixture';
import { randn } from '../creation';
import type { DeviceAttentionProblem, DeviceBackend, DeviceStorage } from '../device/device-backend';
import { registerDevice, unregisterDevice } from '../device/device-registry';
import { toDevice } from '../device/to-device';
import { ArgumentError } from '../errors/argument-error';
import { DeviceError } from '../errors/device-error';
import { ShapeError } from '../errors/shape-error';
import type { AttentionForwardKernel } from '../kernels/attention';
import { plainKernels, setKernels } from '../kernels/registry';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { attentionWeights } from './attention-weights';
import { mul } from './binary';
import { matmul } from './matmul';
import { permute } from './permute';
import { reshape } from './reshape';
import { scaledDotProductAttention, scaledDotProductAttentionWithLogSumExp } from './scaled-dot-product-attention';
import type { ScaledDotProductAttentionOptions } from './scaled-dot-product-attention-problem';
import { softmax } from './softmax';
import { sum } from './reduce';
import { where } from './where';

// Shape letters: B batch, H query heads, Hkv key/value heads, Lq queries, Lk keys, d features, dv value features.

const FORWARD = { atol: 1e-5, rtol: 1e-4 };
const GRADIENT = { atol: 1e-4, rtol: 1e-3 };

/** A heed tensor of this package from a fixture tensor (float32 inputs are exact). */
function fromFixture(t: FixtureTensor, requiresGrad = false): Tensor {
  return new Tensor(
    Float32Array.from(t.data, (v) => Number(v)),
    t.shape,
    requiresGrad,
  );
}

/** The keep mask (1 = may attend) of a PyTorch mask (1 = masked out), as a tensor of this package. */
function keepOf(t: FixtureTensor): Tensor {
  const keep = torchMaskToKeep(t);
  return new Tensor(Float32Array.from(keep.data), keep.shape);
}

/**
 * The plain composition: softmax(where(keep, scale · Q Kᵀ, −∞)) V, with the key/value heads repeated
 * for GQA by broadcasting query [B, Hkv, g, Lq, d] against keys [B, Hkv, 1, Lk, d].
 */
function plainAttention(query: Tensor, keys: Tensor, values: Tensor, options: ScaledDotProductAttentionOptions = {}): Tensor {
  const d = query.shape[query.rank - 1]!;
  const Lq = query.shape[query.rank - 2]!;
  const Lk = keys.shape[keys.rank - 2]!;
  const g = options.groupSize ?? 1;
  let q = query;
  let k = keys;
  let v = values;
  if (g > 1) {
    const [B, H] = query.shape as [number, number];
    q = reshape(query, [B, H / g, g, Lq, d]); // [B, H, Lq, d] -> [B, Hkv, g, Lq, d]
    k = reshape(keys, [B, H / g, 1, Lk, d]); // [B, Hkv, Lk, d] -> [B, Hkv, 1, Lk, d]
    v = reshape(values, [B, H / g, 1, Lk, values.shape[3]!]); // [B, Hkv, Lk, dv] -> [B, Hkv, 1, Lk, dv]
  }
  let scores = mul(matmul(q, k, { transposeB: true }), options.scale ?? 1 / Math.sqrt(d)); // [..., Lq, Lk]
  let keep = options.attentionMask ?? null;
  if (options.causal) {
    const offset = options.causal === true ? 0 : options.causal.offset;
    const causal = new Float32Array(Lq * Lk);
    for (let i = 0; i < Lq; i++) for (let j = 0; j < Lk; j++) causal[i * Lk + j] = j <= i + offset ? 1 : 0;
    const c = new Tensor(causal, [Lq, Lk]);
    keep = keep ? mul(keep, c) : c;
  }
  if (options.windowStart != null) {
    const start = options.windowStart;
    const window = new Float32Array(Lq * Lk);
    for (let i = 0; i < Lq; i++) for (let j = 0; j < Lk; j++) window[i * Lk + j] = j >= i + start ? 1 : 0;
    const w = new Tensor(window, [Lq, Lk]);
    keep = keep ? mul(keep, w) : w;
  }
  if (keep && g > 1 && keep.rank === 4) keep = reshape(keep, [keep.shape[0]!, keep.shape[1]! / g, g, Lq, Lk]); // [B, H, Lq, Lk] -> [B, Hkv, g, Lq, Lk]
  if (keep) scores = where(keep, scores, -Infinity); // [..., Lq, Lk]
  const out = matmul(softmax(scores, -1), v); // [..., Lq, Lk] x [..., Lk, dv] -> [..., Lq, dv]
  return g > 1 ? reshape(out, [query.shape[0]!, query.shape[1]!, Lq, values.shape[3]!]) : out;
}

/** Forward and the three gradients of the fused op and the plain composition on the same inputs agree. */
function expectSameAsPlain(
  shapes: { query: number[]; keys: number[]; values: number[] },
  options: ScaledDotProductAttentionOptions,
  seed = 1,
) {
  const rng = new Rng(seed);
  const inputs = [randn(shapes.query, rng), randn(shapes.keys, rng), randn(shapes.values, rng)];
  const run = (fn: typeof plainAttention) => {
    const [q, k, v] = inputs.map((t) => new Tensor(t.data.slice(), t.shape, true)) as [Tensor, Tensor, Tensor];
    const out = fn(q, k, v, options);
    const upstream = randn(out.shape, new Rng(seed + 100));
    sum(mul(out, upstream)).backward();
    return { out, dq: q.grad!, dk: k.grad!, dv: v.grad! };
  };
  const fused = run(scaledDotProductAttention);
  const plain = run(plainAttention);
  expect(fused.out.shape).toEqual(plain.out.shape);
  expectClose(fused.out.data, plain.out.data, FORWARD, 'output');
  expectClose(fused.dq.data, plain.dq.data, GRADIENT, 'grad query');
  expectClose(fused.dk.data, plain.dk.data, GRADIENT, 'grad keys');
  expectClose(fused.dv.data, plain.dv.data, GRADIENT, 'grad values');
  for (const g of [fused.dq, fused.dk, fused.dv]) expect(g.data.some(Number.isNaN)).toBe(false);
}

describe('scaledDotProductAttention', () => {
  let restore: (() => void) | null = null;
  afterEach(() => {
    restore?.();
    restore = null;
  });

  it('matches the plain composition (matmul, mul, where, softmax, matmul): forward and all three gradients', () => {
    const shapes = { query: [2, 3, 37, 8], keys: [2, 3, 70, 8], values: [2, 3, 70, 5] };
    expectSameAsPlain(shapes, {});
    expectSameAsPlain(shapes, { causal: true, scale: 0.3 });
    expectSameAsPlain(shapes, { causal: { offset: 70 - 37 } });
    const rng = new Rng(9);
    const padding = new Tensor(
      Float32Array.from({ length: 2 * 70 }, (_, i) => (i % 70 < 50 || rng.uniform() < 0.5 ? 1 : 0)),
      [2, 1, 1, 70],
    ); // [B, 1, 1, Lk]
    expectSameAsPlain(shapes, { attentionMask: padding });
    expectSameAsPlain(shapes, { attentionMask: padding, causal: true });
    const perRow = new Tensor(
      Float32Array.from({ length: 37 * 70 }, (_, i) => (i % 70 === 0 || rng.uniform() < 0.6 ? 1 : 0)),
      [37, 70],
    ); // [Lq, Lk]
    expectSameAsPlain(shapes, { attentionMask: perRow });
    const perHead = new Tensor(
      Float32Array.from({ length: 3 * 37 * 70 }, (_, i) => (i % 70 === 0 || rng.uniform() < 0.6 ? 1 : 0)),
      [3, 37, 70],
    ); // [H, Lq, Lk]
    expectSameAsPlain(shapes, { attentionMask: perHead });
    expectSameAsPlain({ query: [4, 6, 2], keys: [4, 9, 2], values: [4, 9, 3] }, { causal: true }); // rank 3
    expectSameAsPlain(shapes, { causal: { offset: 70 - 37 }, windowStart: 70 - 37 - 15 }); // causal sliding window of 16 keys, bottom-right
    expectSameAsPlain(shapes, { causal: { offset: 9 }, windowStart: -9 }); // local window, 9 keys each side
    expectSameAsPlain({ query: [2, 4, 9, 8], keys: [2, 2, 20, 8], values: [2, 2, 20, 3] }, { groupSize: 2, causal: true, windowStart: -3 });
    expectSameAsPlain({ query: [5, 1], keys: [7, 1], values: [7, 4] }, {}); // rank 2, d = 1
  });

  it('grouped-query attention (groupSize 2 and 4) equals repeating the key/value heads', () => {
    expectSameAsPlain({ query: [2, 4, 9, 8], keys: [2, 2, 20, 8], values: [2, 2, 20, 3] }, { groupSize: 2, causal: true });
    expectSameAsPlain({ query: [2, 4, 9, 8], keys: [2, 1, 20, 8], values: [2, 1, 20, 3] }, { groupSize: 4 });
    const keep = new Tensor(
      Float32Array.from({ length: 2 * 4 * 9 * 20 }, (_, i) => (i % 20 === 3 || i % 7 !== 0 ? 1 : 0)),
      [2, 4, 9, 20],
    ); // [B, H, Lq, Lk]
    expectSameAsPlain({ query: [2, 4, 9, 8], keys: [2, 1, 20, 8], values: [2, 1, 20, 3] }, { groupSize: 4, attentionMask: keep });
  });

  it("layout 'sequence-first' ([B, L, H, ·]) equals permuting the heads first and back: output, logSumExp, gradients", () => {
    const swap = [0, 2, 1, 3]; // [B, L, H, ·] <-> [B, H, L, ·]
    const rng = new Rng(12);
    const keepPerHead = new Tensor(
      Float32Array.from({ length: 4 * 9 * 20 }, (_, i) => (i % 20 === 0 || rng.uniform() < 0.7 ? 1 : 0)),
      [4, 9, 20],
    ); // [H, Lq, Lk]
    const cases: [{ query: number[]; keys: number[]; values: number[] }, ScaledDotProductAttentionOptions][] = [
      [{ query: [2, 9, 4, 8], keys: [2, 20, 4, 8], values: [2, 20, 4, 3] }, {}],
      [
        { query: [2, 9, 4, 8], keys: [2, 20, 4, 8], values: [2, 20, 4, 3] },
        { causal: { offset: 11 }, attentionMask: keepPerHead, scale: 0.4 },
      ],
      [
        { query: [2, 9, 4, 8], keys: [2, 20, 2, 8], values: [2, 20, 2, 3] },
        { groupSize: 2, causal: true },
      ],
      [{ query: [1, 9, 4, 8], keys: [1, 20, 1, 8], values: [1, 20, 1, 5] }, { groupSize: 4 }],
    ];
    for (const [index, [shapes, options]] of cases.entries()) {
      const inputs = [randn(shapes.query, rng), randn(shapes.keys, rng), randn(shapes.values, rng)];
      const upstream = randn([...shapes.query.slice(0, -1), shapes.values[3]!], rng); // [B, Lq, H, dv]
      const run = (sequenceFirst: boolean) => {
        const [q, k, v] = inputs.map((t) => new Tensor(t.data.slice(), t.shape, true)) as [Tensor, Tensor, Tensor];
        const result = sequenceFirst
          ? scaledDotProductAttentionWithLogSumExp(q, k, v, { ...options, layout: 'sequence-first' })
          : scaledDotProductAttentionWithLogSumExp(permute(q, swap), permute(k, swap), permute(v, swap), options);
        const output = sequenceFirst ? result.output : permute(result.output, swap); // [B, Lq, H, dv]
        sum(mul(output, upstream)).backward();
        return { output, logSumExp: result.logSumExp, dq: q.grad!, dk: k.grad!, dv: v.grad! };
      };
      const got = run(true);
      const expected = run(false);
      expect(got.output.shape).toEqual(expected.output.shape);
      expect(got.logSumExp.shape).toEqual([shapes.query[0], shapes.query[2], shapes.query[1]]); // [B, H, Lq]
      expectClose(got.output.data, expected.output.data, FORWARD, `case ${index} output`);
      expectClose(got.logSumExp.data, expected.logSumExp.data, FORWARD, `case ${index} logSumExp`);
      for (const name of ['dq', 'dk', 'dv'] as const) expectClose(got[name].data, expected[name].data, GRADIENT, `case ${index} ${name}`);
    }
    // attentionWeights reads the same layout: [B, H, R, Lk] either way.
    const [q, k, v] = [randn([2, 9, 4, 8], rng), randn([2, 20, 2, 8], rng), randn([2, 20, 2, 3], rng)];
    const options: ScaledDotProductAttentionOptions = { groupSize: 2, causal: { offset: 3 }, layout: 'sequence-first' };
    const { logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, options);
    const weights = attentionWeights(q, k, logSumExp, { ...options, rows: [8, 1] });
    const plainOptions = { groupSize: 2, causal: { offset: 3 } };
    const expected = attentionWeights(
      permute(q, swap),
      permute(k, swap),
      scaledDotProductAttentionWithLogSumExp(permute(q, swap), permute(k, swap), permute(v, swap), plainOptions).logSumExp,
      {
        ...plainOptions,
        rows: [8, 1],
      },
    );
    expect(weights.shape).toEqual([2, 4, 2, 20]);
    expectClose(weights.data, expected.data, FORWARD, 'attentionWeights');
  });

  it('passes gradcheck (finite differences) on small inputs', () => {
    const rng = new Rng(4);
    const q = randn([2, 3, 4], rng); // [B, Lq, d]
    const k = randn([2, 5, 4], rng); // [B, Lk, d]
    const v = randn([2, 5, 3], rng); // [B, Lk, dv]
    const keep = new Tensor(Float32Array.from([1, 1, 0, 1, 0, 1, 0, 1, 1, 1]), [2, 1, 5]); // [B, 1, Lk]
    for (const options of [{}, { causal: { offset: 2 } }, { attentionMask: keep, scale: 0.7 }] as ScaledDotProductAttentionOptions[]) {
      const result = gradcheck((a, b, c) => scaledDotProductAttention(a!, b!, c!, options), [q, k, v]);
      expect(result.ok, JSON.stringify(result)).toBe(true);
    }
    const gq = randn([1, 4, 3, 2], rng); // [B, H, Lq, d]
    const gk = randn([1, 2, 4, 2], rng); // [B, Hkv, Lk, d]
    const gv = randn([1, 2, 4, 2], rng); // [B, Hkv, Lk, dv]
    const result = gradcheck((a, b, c) => scaledDotProductAttention(a!, b!, c!, { groupSize: 2, causal: true }), [gq, gk, gv]);
    expect(result.ok, JSON.stringify(result)).toBe(true);
  });

  it('matches the PyTorch fixtures sdpa_*: outputs and gradients', () => {
    const cases: [string, (f: Fixture) => ScaledDotProductAttentionOptions][] = [
      ['sdpa_no_mask', () => ({})],
      ['sdpa_custom_scale', (f) => ({ scale: f.config.scale as number })],
      ['sdpa_causal', () => ({ causal: true })],
      ['sdpa_key_padding_mask', (f) => ({ attentionMask: reshape(keepOf(f.inputs.key_padding_mask!), [2, 1, 5]) })], // [B, Lk] -> [B, 1, Lk]
      ['sdpa_large_logits_scaled', () => ({})],
      ['sdpa_large_logits_offset', () => ({})],
    ];
    for (const [name, optionsOf] of cases) {
      const f = loadFixture(name);
      const tol = name.startsWith('sdpa_large_logits') ? { rtol: 1e-3, atol: 1e-3 } : { rtol: 1e-4, atol: 1e-5 };
      const query = fromFixture(f.inputs.query!, true); // [B, Lq, d]
      const keys = fromFixture(f.inputs.key!, true); // [B, Lk, d]
      const values = fromFixture(f.inputs.value!, true); // [B, Lk, dv]
      const options = { scale: f.config.scale as number, ...optionsOf(f) };
      const { output, logSumExp } = scaledDotProductAttentionWithLogSumExp(query, keys, values, options);
      assertClose(`${name} output`, output, f.outputs.output!, tol);
      assertClose(`${name} weights`, attentionWeights(query, keys, logSumExp, options), f.outputs.attn_weights!, tol);
      if (f.grads) {
        sum(mul(output, fromFixture(f.grad_outputs!.output!))).backward();
        assertClose(`${name} grad query`, query.grad!, f.grads.inputs!.query!);
        assertClose(`${name} grad key`, keys.grad!, f.grads.inputs!.key!);
        assertClose(`${name} grad value`, values.grad!, f.grads.inputs!.value!);
      }
    }
  });

  it('a fully masked row gives zero output and zero, finite gradients', () => {
    const rng = new Rng(2);
    const q = randn([2, 3, 4], rng, { requiresGrad: true });
    const k = randn([2, 5, 4], rng, { requiresGrad: true });
    const v = randn([2, 5, 3], rng, { requiresGrad: true });
    const keep = new Tensor(new Float32Array(2 * 3 * 5).fill(1), [2, 3, 5]); // [B, Lq, Lk]
    keep.data.fill(0, 5, 10); // batch 0, row 1 keeps nothing
    const { output, logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, { attentionMask: keep });
    expect(Array.from(output.data.subarray(3, 6))).toEqual([0, 0, 0]);
    expect(logSumExp.data[1]).toBe(-Infinity);
    sum(output).backward();
    expect(Array.from(q.grad!.data.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    for (const g of [q.grad!, k.grad!, v.grad!]) expect(g.data.every(Number.isFinite)).toBe(true);
    expect(Array.from(attentionWeights(q, k, logSumExp, { attentionMask: keep, rows: [1] }).data.subarray(0, 5))).toEqual([0, 0, 0, 0, 0]);
  });

  it('runs the kernels of the registry (a replacement is really used)', () => {
    const calls: number[] = [];
    const spy: AttentionForwardKernel = (problem, ...rest) => {
      calls.push(problem.n);
      plainKernels().attentionForward(problem, ...rest);
    };
    restore = setKernels({ attentionForward: spy });
    const rng = new Rng(1);
    scaledDotProductAttention(randn([2, 3, 4, 8], rng), randn([2, 3, 6, 8], rng), randn([2, 3, 6, 8], rng));
    expect(calls).toEqual([6]);
  });

  it('refuses bad shapes and options with errors naming the op, the argument and the shapes', () => {
    const rng = new Rng(1);
    const q = randn([2, 4, 3, 8], rng); // [B, H, Lq, d]
    const k = randn([2, 4, 5, 8], rng); // [B, H, Lk, d]
    const v = randn([2, 4, 5, 6], rng); // [B, H, Lk, dv]
    let e = expectThrows(() => scaledDotProductAttention(q, randn([2, 4, 5, 7], rng), v), ShapeError);
    expect([e.op, e.argument]).toEqual(['scaledDotProductAttention', 'keys']);
    expect(e.message).toMatch(/query \[2, 4, 3, 8\].*keys \[2, 4, 5, 7\]/);
    e = expectThrows(() => scaledDotProductAttention(q, k, randn([2, 4, 6, 6], rng)), ShapeError);
    expect(e.argument).toBe('values');
    expect(e.shapes.values).toEqual([2, 4, 6, 6]);
    e = expectThrows(() => scaledDotProductAttention(q, randn([2, 2, 5, 8], rng), randn([2, 2, 5, 6], rng)), ShapeError);
    expect(e.message).toMatch(/groupSize: 2/);
    e = expectThrows(() => scaledDotProductAttention(q, randn([2, 3, 5, 8], rng), randn([2, 3, 5, 6], rng), { groupSize: 3 }), ShapeError);
    expect(e.argument).toBe('groupSize');
    e = expectThrows(() => scaledDotProductAttention(q, k, v, { attentionMask: new Tensor(new Float32Array(4), [4, 1]) }), ShapeError);
    expect([e.argument, e.shapes.attentionMask]).toEqual(['attentionMask', [4, 1]]);
    expect(e.message).toMatch(/attentionMask \[4, 1\] does not broadcast to the scores \[2, 4, 3, 5\]/);
    expect(expectThrows(() => scaledDotProductAttention(q, k, v, { groupSize: 0 }), ArgumentError).argument).toBe('groupSize');
    expect(expectThrows(() => scaledDotProductAttention(q, k, v, { scale: NaN }), ArgumentError).argument).toBe('scale');
    expect(expectThrows(() => scaledDotProductAttention(q, k, v, { causal: { offset: 0.5 } }), ArgumentError).argument).toBe('causal');
    expect(expectThrows(() => scaledDotProductAttention(q, k, v, { windowStart: 1.5 }), ArgumentError).argument).toBe('windowStart');
    expect(expectThrows(() => scaledDotProductAttention(randn([3], rng), k, v), ShapeError).argument).toBe('query');
    // 'sequence-first': query [B, Lq, H, d], keys and values [B, Lk, Hkv, ·].
    const sq = randn([2, 3, 4, 8], rng);
    expect(expectThrows(() => scaledDotProductAttention(sq, k, v, { layout: 'rows' as 'heads-first' }), ArgumentError).argument).toBe(
      'layout',
    );
    e = expectThrows(
      () => scaledDotProductAttention(randn([3, 8], rng), randn([5, 8], rng), randn([5, 8], rng), { layout: 'sequence-first' }),
      ShapeError,
    );
    expect([e.argument, e.message]).toEqual(['query', expect.stringMatching(/\[\.\.\., Lq, H, d\].*rank ≥ 3/)]);
    e = expectThrows(
      () => scaledDotProductAttention(sq, randn([2, 5, 3, 8], rng), randn([2, 5, 3, 6], rng), { layout: 'sequence-first', groupSize: 2 }),
      ShapeError,
    );
    expect([e.argument, e.message]).toEqual(['keys', expect.stringMatching(/keys \[2, 5, 3, 8\] must have \[2, 5, 2, 8\]/)]);
    e = expectThrows(
      () => scaledDotProductAttention(sq, randn([2, 5, 4, 8], rng), randn([2, 6, 4, 6], rng), { layout: 'sequence-first' }),
      ShapeError,
    );
    expect([e.argument, e.shapes.values]).toEqual(['values', [2, 6, 4, 6]]);
  });

  it('memory grows with L, not L²: forward + backward at Lq = Lk = 4096 allocate far less than one 4096² float32 matrix', () => {
    const L = 4096;
    const rng = new Rng(3);
    const q = randn([1, L, 16], rng, { requiresGrad: true });
    const k = randn([1, L, 16], rng, { requiresGrad: true });
    const v = randn([1, L, 16], rng, { requiresGrad: true });
    const upstream = randn([1, L, 16], rng);
    const before = process.memoryUsage().arrayBuffers;
    // Counts every Float32Array / Float64Array created during the call, freed or not (no GC timing involved).
    let allocated = 0;
    const originals = { Float32Array: globalThis.Float32Array, Float64Array: globalThis.Float64Array };
    const counting = <C extends new (...args: never[]) => ArrayBufferView>(ctor: C): C =>
      new Proxy(ctor, {
        construct(target, args, newTarget) {
          const array = Reflect.construct(target, args, newTarget) as ArrayBufferView;
          allocated += array.byteLength;
          return array;
        },
      });
    let out: Tensor;
    try {
      globalThis.Float32Array = counting(originals.Float32Array);
      globalThis.Float64Array = counting(originals.Float64Array);
      out = scaledDotProductAttention(q, k, v, { causal: true });
      out.backward(upstream);
    } finally {
      globalThis.Float32Array = originals.Float32Array;
      globalThis.Float64Array = originals.Float64Array;
    }
    const retained = process.memoryUsage().arrayBuffers - before;
    // One L×L float32 matrix is 64 MiB; inputs, outputs and gradients here are ~1.5 MiB in all.
    expect(allocated).toBeGreaterThan(L * 16 * 4); // the counter saw the output and gradients
    expect(allocated).toBeLessThan(8 * 1024 * 1024);
    expect(retained).toBeLessThan(16 * 1024 * 1024);
    expect(q.grad!.data.every(Number.isFinite)).toBe(true);
  }, 120_000); // ~1 s alone; generous for a loaded machine (this is not a timing test)
});

describe('attentionWeights', () => {
  it('gives the exact softmax weights of any query rows, from the same forward pass', () => {
    const rng = new Rng(6);
    const q = randn([2, 2, 40, 8], rng); // [B, H, Lq, d]
    const k = randn([2, 2, 70, 8], rng); // [B, H, Lk, d]
    const v = randn([2, 2, 70, 3], rng); // [B, H, Lk, dv]
    const keep = new Tensor(
      Float32Array.from({ length: 2 * 70 }, (_, i) => (i % 70 < 60 ? 1 : 0)),
      [2, 1, 1, 70],
    ); // [B, 1, 1, Lk]
    const options: ScaledDotProductAttentionOptions = { causal: { offset: 30 }, attentionMask: keep };
    const { logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, options);
    expect(logSumExp.shape).toEqual([2, 2, 40]);
    // Reference: float64 softmax of the masked, scaled scores, computed here.
    const rows = [39, 0, 17, 17];
    const w = attentionWeights(q, k, logSumExp, { ...options, rows });
    expect(w.shape).toEqual([2, 2, 4, 70]);
    for (let s = 0; s < 4; s++) {
      rows.forEach((i, r) => {
        const scores = Array.from({ length: 70 }, (_, j) => {
          if (j > i + 30 || j >= 60) return -Infinity;
          let dot = 0;
          for (let x = 0; x < 8; x++) dot += q.data[(s * 40 + i) * 8 + x]! * k.data[(s * 70 + j) * 8 + x]!;
          return dot / Math.sqrt(8);
        });
        const max = Math.max(...scores);
        const total = scores.reduce((t, x) => t + Math.exp(x - max), 0);
        expectClose(
          w.data.subarray((s * 4 + r) * 70, (s * 4 + r + 1) * 70),
          scores.map((x) => Math.exp(x - max) / total),
          FORWARD,
          `slice ${s} row ${i}`,
        );
      });
    }
    const all = attentionWeights(q, k, logSumExp, options);
    expect(all.shape).toEqual([2, 2, 40, 70]);
  });

  it('is differentiable in query and keys (gradcheck, rows subset, GQA)', () => {
    const rng = new Rng(7);
    const q = randn([1, 2, 3, 4], rng); // [B, H, Lq, d]
    const k = randn([1, 1, 5, 4], rng); // [B, Hkv, Lk, d]
    const v = randn([1, 1, 5, 2], rng);
    const options: ScaledDotProductAttentionOptions = { groupSize: 2, causal: { offset: 1 } };
    const fn = (a: Tensor, b: Tensor) => {
      const { logSumExp } = scaledDotProductAttentionWithLogSumExp(a, b, v, options);
      return attentionWeights(a, b, logSumExp, { ...options, rows: [2, 0, 2] });
    };
    const result = gradcheck((a, b) => fn(a!, b!), [q, k]);
    expect(result.ok, JSON.stringify(result)).toBe(true);
  });

  it('refuses a logSumExp of the wrong shape and rows out of range', () => {
    const rng = new Rng(1);
    const q = randn([2, 3, 4], rng);
    const k = randn([2, 5, 4], rng);
    const e = expectThrows(() => attentionWeights(q, k, new Tensor(new Float32Array(3), [3])), ShapeError);
    expect([e.op, e.argument, e.shapes.logSumExp]).toEqual(['attentionWeights', 'logSumExp', [3]]);
    const lse = new Tensor(new Float32Array(6), [2, 3]);
    expect(expectThrows(() => attentionWeights(q, k, lse, { rows: [3] }), ArgumentError).argument).toBe('rows');
  });
});

describe('scaledDotProductAttention on a device: the learned variant parameters', () => {
  // A device that records the problem its attention gets and returns zeros, with a backward that returns no
  // gradient for the sinks: the op must say so, never hand the parameter a null gradient.
  interface HostStorage extends DeviceStorage {
    readonly values: Float32Array;
  }
  const store = (values: Float32Array): HostStorage => ({ device: 'variants-test', size: values.length, values });
  const seen: DeviceAttentionProblem[] = [];
  const unused = (): never => {
    throw new Error('not used by this test');
  };
  const zeros = (size: number) => store(new Float32Array(size));
  const device: DeviceBackend = {
    name: 'variants-test',
    attentionVariants: ['positionBias', 'sinks'],
    upload: (data) => store(data.slice()),
    read: async (s) => (s as HostStorage).values.slice(),
    fill: (size, value) => store(new Float32Array(size).fill(value)),
    copy: unused,
    writeBlocks: unused,
    binary: unused,
    where: unused,
    unary: unused,
    reduceAxis: unused,
    softmax: unused,
    matmul: unused,
    attentionForward: (problem) => {
      seen.push(problem);
      return { output: zeros(problem.n * problem.queryLength * problem.valueDim), logSumExp: zeros(problem.n * problem.queryLength) };
    },
    attentionBackward: (problem) => ({
      dq: zeros(problem.n * problem.queryLength * problem.headDim),
      dk: zeros(problem.n * problem.keyLength * problem.headDim),
      dv: zeros(problem.n * problem.keyLength * problem.valueDim),
      positionBias: problem.positionBias ? zeros(problem.positionBias.size) : null,
    }),
    attentionWeights: (problem, _q, _k, _logSumExp, rows) => {
      seen.push(problem);
      return zeros(problem.n * rows.length * problem.keyLength);
    },
    attentionWeightsBackward: (problem) => ({
      dq: zeros(problem.n * problem.queryLength * problem.headDim),
      dk: zeros(problem.n * problem.keyLength * problem.headDim),
      positionBias: problem.positionBias ? zeros(problem.positionBias.size) : null,
    }),
    adamStep: unused,
    sgdStep: unused,
  };
  registerDevice(device);
  afterAll(() => unregisterDevice('variants-test'));

  it('passes positionBias [H, Lq + Lk − 1] and sinks [H] as their device storage; a gradient the backend leaves out is a DeviceError', async () => {
    const rng = new Rng(5);
    const on = async (shape: number[]) => {
      const t = await toDevice(randn(shape, rng), 'variants-test');
      t.requiresGrad = true;
      return t;
    };
    const [q, k, v] = [await on([1, 2, 3, 4]), await on([1, 2, 5, 4]), await on([1, 2, 5, 4])];
    const [positionBias, sinks] = [await on([2, 7]), await on([2])];
    const output = scaledDotProductAttention(q, k, v, { positionBias, sinks });
    expect(seen.at(-1)!.positionBias).toBe(positionBias.storage);
    expect(seen.at(-1)!.sinks).toBe(sinks.storage);
    const dOut = await toDevice(randn(output.shape, rng), 'variants-test');
    const error = expectThrows(() => output.backward(dOut), DeviceError);
    expect(error).toMatchObject({ op: 'scaledDotProductAttention', argument: 'sinks' });
    expect(error.message).toMatch(/the device backend returned no gradient for sinks \[2\]/);

    const { logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, { positionBias, sinks });
    const weights = attentionWeights(q, k, logSumExp, { positionBias, sinks, rows: [2, 0] }); // [1, 2, R, Lk]
    expect(seen.at(-1)!.sinks).toBe(sinks.storage);
    const dWeights = await toDevice(randn(weights.shape, rng), 'variants-test');
    expect(expectThrows(() => weights.backward(dWeights), DeviceError)).toMatchObject({ op: 'attentionWeights', argument: 'sinks' });
  });

  it('refuses a variant the backend does not name in attentionVariants, naming it', async () => {
    const rng = new Rng(6);
    const [q, k, v] = await Promise.all(
      [
        [1, 2, 3, 4],
        [1, 2, 5, 4],
        [1, 2, 5, 4],
      ].map((shape) => toDevice(randn(shape, rng), 'variants-test')),
    );
    const error = expectThrows(() => scaledDotProductAttention(q!, k!, v!, { softcap: 3 }), DeviceError);
    expect(error).toMatchObject({ op: 'scaledDotProductAttention', argument: 'softcap' });
    expect(error.message).toMatch(/softcap is not read by the attention kernels of 'variants-test'/);
  });
});
