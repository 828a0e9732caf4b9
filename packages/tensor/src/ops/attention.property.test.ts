import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The kernel switches through the barrel, wherever the kernel files live.
import { getKernels, plainKernels, setKernels, useJsKernels, useWasmKernels, type Kernels } from '../index';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import { scaledDotProductAttention } from './scaled-dot-product-attention';
import type { ScaledDotProductAttentionOptions } from './scaled-dot-product-attention-problem';

// Property tests of the fused op `scaledDotProductAttention` against an independent float64 naive
// reference written here: random batch, heads, GQA group size, lengths 1–300 (primes and tile edges),
// head sizes 1–130, keep masks of every broadcast form with fully masked rows, causal offsets, both
// layouts, logits from small to large. Checked on every kernel set (JS, WASM; WASM with 2 threads ≡ 1
// thread bit for bit): no NaN, output and gradients within a bound scaled by the problem's
// conditioning, fully masked rows exactly 0.
// `pnpm test` runs a few hundred cases; `pnpm test:long` (HEED_PROPERTY_RUNS=20000) runs ≥ 20,000.
// A failure prints fast-check's seed and path; rerun it with HEED_PROPERTY_SEED=<seed>.
// Shape letters: B batch, H query heads, Hkv key/value heads (H / groupSize), Lq, Lk, d, dv.

const RUNS = Number(process.env.HEED_PROPERTY_RUNS ?? 150);
const LONG = RUNS > 1000;
const SEED = process.env.HEED_PROPERTY_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.HEED_PROPERTY_SEED);
/** Multiply-adds n·Lq·Lk·(d + dv) allowed per case (the float64 reference runs them too). */
const BUDGET = 600_000;
/** vitest's per-test limit: a 20,000-run pass takes minutes. */
const TIMEOUT_MS = LONG ? 4 * 3600_000 : 120_000;
const EPS32 = 2 ** -23;

const LENGTHS = [1, 2, 3, 5, 7, 13, 31, 32, 33, 37, 63, 64, 65, 97, 127, 128, 129, 191, 255, 256, 257, 293, 300];
const HEAD_SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 130];

type MaskForm = 'none' | 'shared' | 'padding' | 'full';

interface Case {
  B: number;
  Hkv: number;
  groupSize: number;
  Lq: number;
  Lk: number;
  d: number;
  dv: number;
  mask: MaskForm;
  /** Fraction of keys masked, and of query rows masked entirely (full form). */
  density: number;
  maskedRows: number;
  causal: null | true | number;
  layout: 'heads-first' | 'sequence-first';
  scale: number | undefined;
  /** Multiplies q and k: 1 ordinary, up to 30 (logits in the hundreds). */
  magnitude: number;
  seed: number;
}

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);
const length = fc.oneof(pick(LENGTHS), fc.integer({ min: 1, max: 24 }));
const headSize = fc.oneof(pick(HEAD_SIZES), fc.integer({ min: 1, max: 12 }));

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    Hkv: fc.integer({ min: 1, max: 2 }),
    groupSize: fc.constantFrom(1, 1, 2, 3),
    Lq: length,
    Lk: length,
    d: headSize,
    dv: headSize,
    mask: pick<MaskForm>(['none', 'shared', 'padding', 'full']),
    density: fc.constantFrom(0, 0.2, 0.5, 0.9),
    maskedRows: fc.constantFrom(0, 0, 0.1, 0.5),
    causal: fc.oneof(fc.constant(null), fc.constant(true as const), fc.integer({ min: -40, max: 300 })),
    layout: pick(['heads-first', 'sequence-first'] as const),
    scale: fc.oneof(fc.constant(undefined), fc.double({ min: 0.05, max: 2, noNaN: true })),
    magnitude: fc.constantFrom(0.25, 1, 1, 3, 30),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map((c) => {
    // Stay within the budget: fewer slices first, then shorter sequences, then narrower heads.
    const c2 = { ...c };
    const work = () => c2.B * c2.Hkv * c2.groupSize * c2.Lq * c2.Lk * (c2.d + c2.dv);
    while (work() > BUDGET && c2.B * c2.Hkv * c2.groupSize > 1) {
      if (c2.B > 1) c2.B = 1;
      else if (c2.Hkv > 1) c2.Hkv = 1;
      else c2.groupSize = 1;
    }
    while (work() > BUDGET && (c2.Lq > 8 || c2.Lk > 8)) {
      if (c2.Lq >= c2.Lk) c2.Lq = Math.ceil(c2.Lq / 2);
      else c2.Lk = Math.ceil(c2.Lk / 2);
    }
    while (work() > BUDGET) {
      if (c2.d >= c2.dv) c2.d = Math.ceil(c2.d / 2);
      else c2.dv = Math.ceil(c2.dv / 2);
    }
    return c2;
  });

/** Inputs heads-first ([B, H, L, ·]) as float32, the keep mask as given to the op and materialized [B, H, Lq, Lk]. */
function makeInputs(c: Case) {
  const rng = new Rng(c.seed);
  const H = c.Hkv * c.groupSize;
  const normal = (size: number, factor = 1) => Float32Array.from({ length: size }, () => Math.fround(rng.normal() * factor));
  const q = normal(c.B * H * c.Lq * c.d, c.magnitude);
  const k = normal(c.B * c.Hkv * c.Lk * c.d, c.magnitude);
  const v = normal(c.B * c.Hkv * c.Lk * c.dv);
  const g = normal(c.B * H * c.Lq * c.dv);
  const keepAll = new Uint8Array(c.B * H * c.Lq * c.Lk).fill(1); // [B, H, Lq, Lk]
  let keep: Tensor | null = null;
  const drop = () => (rng.uniform() < c.density ? 0 : 1);
  if (c.mask === 'shared') {
    const m = Float32Array.from({ length: c.Lq * c.Lk }, drop); // [Lq, Lk]
    keep = new Tensor(m, [c.Lq, c.Lk]);
    for (let s = 0; s < c.B * H; s++) for (let x = 0; x < c.Lq * c.Lk; x++) keepAll[s * c.Lq * c.Lk + x] = m[x]!;
  } else if (c.mask === 'padding') {
    const m = Float32Array.from({ length: c.B * c.Lk }, drop); // [B, 1, 1, Lk]
    keep = new Tensor(m, [c.B, 1, 1, c.Lk]);
    for (let b = 0; b < c.B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < c.Lq; i++) for (let j = 0; j < c.Lk; j++) keepAll[((b * H + h) * c.Lq + i) * c.Lk + j] = m[b * c.Lk + j]!;
  } else if (c.mask === 'full') {
    const m = Float32Array.from({ length: c.B * H * c.Lq * c.Lk }, drop); // [B, H, Lq, Lk]
    for (let row = 0; row < c.B * H * c.Lq; row++) if (rng.uniform() < c.maskedRows) m.fill(0, row * c.Lk, (row + 1) * c.Lk); // fully masked rows
    keep = new Tensor(m, [c.B, H, c.Lq, c.Lk]);
    for (let x = 0; x < m.length; x++) keepAll[x] = m[x]!;
  }
  return { H, q, k, v, g, keep, keepAll };
}

/** [B, Hx, L, w] heads-first -> [B, L, Hx, w] sequence-first (or back with `inverse`). */
function swapHeads(data: Float32Array, B: number, Hx: number, L: number, w: number, inverse = false): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hx; h++)
      for (let l = 0; l < L; l++) {
        const headsFirst = ((b * Hx + h) * L + l) * w;
        const sequenceFirst = ((b * L + l) * Hx + h) * w;
        if (inverse) out.set(data.subarray(sequenceFirst, sequenceFirst + w), headsFirst);
        else out.set(data.subarray(headsFirst, headsFirst + w), sequenceFirst);
      }
  return out;
}

/**
 * The WebAssembly kernels flush a weight under 2^−100 to 0 (its product with a value could be a subnormal float32,
 * slow on x86): each weight may be off by that much besides float32 rounding. `reference` bounds what this moves
 * in each entry (the sums of |·| with every visible weight replaced by it).
 */
const WEIGHT_FLUSH = 2 ** -100;

/**
 * Float64 reference, heads-first: P = softmax(scale·Q Kᵀ) over visible keys, out = P V, and the
 * gradients of Σ g ⊙ out; alongside, the magnitudes that bound the float32 error of each entry
 * (the same sums with |·|), what the weight flush may move in it, and the conditioning of the scores.
 */
function reference(c: Case, x: ReturnType<typeof makeInputs>) {
  const { H, q, k, v, g, keepAll } = x;
  const { B, Lq, Lk, d, dv, groupSize } = c;
  const scale = c.scale ?? 1 / Math.sqrt(d);
  const offset = c.causal === null ? null : c.causal === true ? 0 : c.causal;
  const out = new Float64Array(B * H * Lq * dv);
  const outBound = new Float64Array(out.length);
  const dq = new Float64Array(q.length);
  const dqBound = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dkBound = new Float64Array(k.length);
  const dvGrad = new Float64Array(v.length);
  const dvBound = new Float64Array(v.length);
  const flush = {
    out: new Float64Array(out.length),
    dq: new Float64Array(q.length),
    dk: new Float64Array(k.length),
    dv: new Float64Array(v.length),
  };
  const maskedRows: number[] = [];
  let conditioning = 0; // max scale·Σ|q_x k_x|: how far float32 dot products can move a logit, in eps
  const s = new Float64Array(Lk);
  const p = new Float64Array(Lk);
  const dP = new Float64Array(Lk);
  const dPAbs = new Float64Array(Lk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const slice = b * H + h;
      const kvSlice = b * c.Hkv + Math.floor(h / groupSize);
      for (let i = 0; i < Lq; i++) {
        const qRow = (slice * Lq + i) * d;
        const oRow = (slice * Lq + i) * dv;
        let max = -Infinity;
        for (let j = 0; j < Lk; j++) {
          const visible = keepAll[(slice * Lq + i) * Lk + j] !== 0 && (offset === null || j <= i + offset);
          let dot = 0;
          let absDot = 0;
          for (let z = 0; z < d; z++) {
            const term = q[qRow + z]! * k[(kvSlice * Lk + j) * d + z]!;
            dot += term;
            absDot += Math.abs(term);
          }
          s[j] = visible ? scale * dot : -Infinity;
          if (visible) conditioning = Math.max(conditioning, scale * absDot);
          max = Math.max(max, s[j]!);
        }
        if (max === -Infinity) {
          maskedRows.push(slice * Lq + i);
          continue;
        }
        let total = 0;
        for (let j = 0; j < Lk; j++) total += Math.exp(s[j]! - max);
        let D = 0;
        let DAbs = 0;
        for (let j = 0; j < Lk; j++) {
          p[j] = Math.exp(s[j]! - max) / total;
          let dot = 0;
          let absDot = 0;
          for (let z = 0; z < dv; z++) {
            const vz = v[(kvSlice * Lk + j) * dv + z]!;
            out[oRow + z]! += p[j]! * vz;
            outBound[oRow + z]! += p[j]! * Math.abs(vz);
            dot += g[oRow + z]! * vz;
            absDot += Math.abs(g[oRow + z]! * vz);
          }
          dP[j] = dot;
          dPAbs[j] = absDot;
          D += p[j]! * dot;
          DAbs += p[j]! * absDot;
        }
        // The flush: out and dv move by ≤ 2^−100 per visible weight times |v| or |g|; dS = P ⊙ (dP − D) by ≤ 2^−100 ·
        // (|dP| + |D| + Σ|dP|) per visible key (P, and D through the weights), times |k| or |q|.
        let dPAbsSum = 0;
        for (let j = 0; j < Lk; j++) if (s[j] !== -Infinity) dPAbsSum += dPAbs[j]!;
        for (let j = 0; j < Lk; j++) {
          if (s[j] === -Infinity) continue;
          const kRow = (kvSlice * Lk + j) * d;
          const vRow = (kvSlice * Lk + j) * dv;
          const dSFlush = WEIGHT_FLUSH * Math.abs(scale) * (dPAbs[j]! + DAbs + dPAbsSum);
          for (let z = 0; z < dv; z++) {
            flush.out[oRow + z]! += WEIGHT_FLUSH * Math.abs(v[vRow + z]!);
            flush.dv[vRow + z]! += WEIGHT_FLUSH * Math.abs(g[oRow + z]!);
          }
          for (let z = 0; z < d; z++) {
            flush.dq[qRow + z]! += dSFlush * Math.abs(k[kRow + z]!);
            flush.dk[kRow + z]! += dSFlush * Math.abs(q[qRow + z]!);
          }
        }
        for (let j = 0; j < Lk; j++) {
          if (p[j] === 0) continue;
          const dS = scale * p[j]! * (dP[j]! - D);
          const dSAbs = scale * p[j]! * (dPAbs[j]! + DAbs);
          const kRow = (kvSlice * Lk + j) * d;
          for (let z = 0; z < d; z++) {
            dq[qRow + z]! += dS * k[kRow + z]!;
            dqBound[qRow + z]! += dSAbs * Math.abs(k[kRow + z]!);
            dk[kRow + z]! += dS * q[qRow + z]!;
            dkBound[kRow + z]! += dSAbs * Math.abs(q[qRow + z]!);
          }
          const vRow = (kvSlice * Lk + j) * dv;
          for (let z = 0; z < dv; z++) {
            dvGrad[vRow + z]! += p[j]! * g[oRow + z]!;
            dvBound[vRow + z]! += p[j]! * Math.abs(g[oRow + z]!);
          }
        }
      }
    }
  return { out, outBound, dq, dqBound, dk, dkBound, dv: dvGrad, dvBound, flush, maskedRows, conditioning };
}

/** Runs the op with the active kernels; results heads-first. */
function runOp(c: Case, x: ReturnType<typeof makeInputs>) {
  const { H } = x;
  const sequenceFirst = c.layout === 'sequence-first';
  const shape = (Hx: number, L: number, w: number) => (sequenceFirst ? [c.B, L, Hx, w] : [c.B, Hx, L, w]);
  const lay = (data: Float32Array, Hx: number, L: number, w: number) => (sequenceFirst ? swapHeads(data, c.B, Hx, L, w) : data.slice());
  const back = (data: Float32Array, Hx: number, L: number, w: number) => (sequenceFirst ? swapHeads(data, c.B, Hx, L, w, true) : data);
  const query = new Tensor(lay(x.q, H, c.Lq, c.d), shape(H, c.Lq, c.d), true);
  const keys = new Tensor(lay(x.k, c.Hkv, c.Lk, c.d), shape(c.Hkv, c.Lk, c.d), true);
  const values = new Tensor(lay(x.v, c.Hkv, c.Lk, c.dv), shape(c.Hkv, c.Lk, c.dv), true);
  const options: ScaledDotProductAttentionOptions = { groupSize: c.groupSize, layout: c.layout, attentionMask: x.keep };
  if (c.scale !== undefined) options.scale = c.scale;
  if (c.causal !== null) options.causal = c.causal === true ? true : { offset: c.causal };
  const output = scaledDotProductAttention(query, keys, values, options);
  output.backward(new Tensor(lay(x.g, H, c.Lq, c.dv), output.shape));
  return {
    out: back(output.data, H, c.Lq, c.dv),
    dq: back(query.grad!.data, H, c.Lq, c.d),
    dk: back(keys.grad!.data, c.Hkv, c.Lk, c.d),
    dv: back(values.grad!.data, c.Hkv, c.Lk, c.dv),
  };
}

/** Throws naming the first entry outside |got − want| ≤ factor·bound + flush + tiny (NaN never passes). */
function within(label: string, got: Float32Array, want: Float64Array, bound: Float64Array, factor: number, flush: Float64Array): void {
  for (let i = 0; i < got.length; i++) {
    const error = Math.abs(got[i]! - want[i]!);
    const allowed = factor * bound[i]! + flush[i]! + 1e-30;
    if (!(error <= allowed)) throw new Error(`${label}[${i}] = ${got[i]}, reference ${want[i]} (|error| ${error} > bound ${allowed})`);
  }
}

function check(c: Case, kernelSets: readonly (readonly [string, Kernels])[]): void {
  const x = makeInputs(c);
  const ref = reference(c, x);
  // Float32 error, in units of the |·|-sums: each logit moves by ≤ d·eps·conditioning (dot products), the
  // weights by twice that (and the exp), then sums of up to dv, d or L terms round once more each.
  const L = Math.log2(c.Lq + c.Lk + 2);
  const factor = EPS32 * (16 + 4 * c.d * ref.conditioning + 2 * (c.d + c.dv) + 8 * L);
  let first: ReturnType<typeof runOp> | null = null;
  for (const [name, kernels] of kernelSets) {
    setKernels(kernels);
    const got = runOp(c, x);
    const label = `${name} ${JSON.stringify(c)}`;
    within(`${label} out`, got.out, ref.out, ref.outBound, factor, ref.flush.out);
    within(`${label} dq`, got.dq, ref.dq, ref.dqBound, factor, ref.flush.dq);
    within(`${label} dk`, got.dk, ref.dk, ref.dkBound, factor, ref.flush.dk);
    within(`${label} dv`, got.dv, ref.dv, ref.dvBound, factor, ref.flush.dv);
    for (const row of ref.maskedRows) {
      for (let z = 0; z < c.dv; z++)
        if (got.out[row * c.dv + z] !== 0) throw new Error(`${label}: fully masked row ${row} has out ${got.out[row * c.dv + z]}`);
      for (let z = 0; z < c.d; z++)
        if (got.dq[row * c.d + z] !== 0) throw new Error(`${label}: fully masked row ${row} has dq ${got.dq[row * c.d + z]}`);
    }
    if (name === 'WASM, 2 threads' && first) {
      // Threads split the work, never a sum: the same bits as one thread.
      for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
        const a = first[key];
        const b = got[key];
        for (let i = 0; i < a.length; i++)
          if (!Object.is(a[i], b[i])) throw new Error(`${label}: ${key}[${i}] ${b[i]} with 2 threads, ${a[i]} with 1`);
      }
    }
    if (name === 'WASM') first = got;
  }
}

const sets: [string, Kernels][] = [];

beforeAll(async () => {
  useJsKernels();
  sets.push(['JS', { ...plainKernels() }]);
  expect(await useWasmKernels({ relaxedSimd: false })).toEqual({ simd: 'plain', threads: 1 }); // Node runs WebAssembly SIMD: never a skip
  sets.push(['WASM', { ...getKernels() }]);
  expect(await useWasmKernels({ relaxedSimd: false, threads: 2 })).toEqual({ simd: 'plain', threads: 2 });
  sets.push(['WASM, 2 threads', { ...getKernels() }]);
  useJsKernels();
});

afterAll(() => {
  useJsKernels();
  setKernels(plainKernels());
});

describe('scaledDotProductAttention: property tests against a float64 reference on every kernel set', () => {
  it(
    `${RUNS} random problems (seed ${SEED}): output and gradients within the conditioning bound, masked rows 0, threads ≡ one thread`,
    () => {
      if (LONG) console.log(`attention property tests: ${RUNS} runs, seed ${SEED} (rerun with HEED_PROPERTY_SEED=${SEED})`);
      fc.assert(
        fc.property(caseArbitrary, (c) => {
          check(c, sets);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'large logits (|s| up to 1e7) stay exact up to the conditioning bound on every kernel set',
    () => {
      const large = fc.record({
        Lk: fc.integer({ min: 1, max: 70 }),
        d: fc.integer({ min: 1, max: 4 }),
        offset: fc.constantFrom(1e3, 1e4, 1e5, 1e6, 1e7),
        seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      });
      fc.assert(
        fc.property(large, ({ Lk, d, offset, seed }) => {
          // Keys near `offset` along the query direction: near-tie logits of size offset·|q|.
          const c: Case = {
            B: 1,
            Hkv: 1,
            groupSize: 1,
            Lq: 3,
            Lk,
            d,
            dv: 3,
            mask: 'none',
            density: 0,
            maskedRows: 0,
            causal: null,
            layout: 'heads-first',
            scale: 1,
            magnitude: 1,
            seed,
          };
          const x = makeInputs(c);
          for (let j = 0; j < Lk; j++) x.k[j * d] = Math.fround(offset + x.k[j * d]!);
          x.q.fill(0);
          for (let i = 0; i < 3; i++) x.q[i * d] = 1;
          const ref = reference(c, x);
          const factor = EPS32 * (16 + 4 * (d + 3) + 8 * Math.log2(Lk + 5));
          for (const [name, kernels] of sets) {
            setKernels(kernels);
            const got = runOp(c, x);
            // Logits are exact here (q is a unit vector): out, dk and dv to float32 rounding; dq cancels
            // Σ dS_j k_j with |k| ≈ offset, which bounds it by offset·eps (the problem's conditioning).
            within(`${name} offset ${offset} out`, got.out, ref.out, ref.outBound, factor, ref.flush.out);
            within(`${name} offset ${offset} dv`, got.dv, ref.dv, ref.dvBound, factor, ref.flush.dv);
            within(`${name} offset ${offset} dk`, got.dk, ref.dk, ref.dkBound, factor, ref.flush.dk);
            within(`${name} offset ${offset} dq`, got.dq, ref.dq, ref.dqBound, factor * 4, ref.flush.dq);
          }
        }),
        { numRuns: LONG ? 2000 : 40, seed: SEED },
      );
    },
    TIMEOUT_MS,
  );
});
