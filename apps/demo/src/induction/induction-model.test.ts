import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLetters } from './data';
import { headRole } from './head-scores';
import { decodeStateDict, type InductionModelFile } from './model-file';
import { InductionModel } from './model';
import { heldOutSequences, idsOf, measureHeads } from './train';

// The shipped model, re-checked from its weights alone: a naive forward pass written here (loops, its own
// RoPE, its own softmax; none of heed's attention code) gives every head's attention weights, and from them
// this file's own scores. Shape letters: L positions, E width, H heads, d = E / H.

const file = JSON.parse(readFileSync(new URL('../../public/models/induction.json', import.meta.url), 'utf8')) as InductionModelFile;
const { numLayers, numHeads: H, embedDim: E } = file.config;
const d = E / H;

/** base64 float32 -> numbers, with Node's Buffer (not the page's decoder). */
function weight(name: string): Float32Array {
  const entry = file.weights[name];
  if (!entry) throw new Error(`induction.json has no ${name}`);
  const bytes = Buffer.from(entry.float32, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** x [L, E] -> x Wᵀ + b [L, out] */
function affine(x: number[][], name: string): number[][] {
  const W = weight(`${name}.weight`);
  const b = weight(`${name}.bias`);
  const out = b.length;
  return x.map((row) => Array.from({ length: out }, (_, o) => b[o]! + row.reduce((s, v, e) => s + v * W[o * row.length + e]!, 0)));
}

/** RoPE, rotate-half pairing (i, i + d/2), angle p · 10000^(−2i/d): one head's vector [d] at position p. */
function rotate(v: number[], p: number): number[] {
  const out = v.slice();
  for (let i = 0; i < d / 2; i++) {
    const angle = p * 10000 ** ((-2 * i) / d);
    const [a, b] = [v[i]!, v[i + d / 2]!];
    out[i] = a * Math.cos(angle) - b * Math.sin(angle);
    out[i + d / 2] = b * Math.cos(angle) + a * Math.sin(angle);
  }
  return out;
}

/** ids (L) -> per layer, per head, the causal softmax weights [L][L]. */
function naiveWeights(ids: number[]): number[][][][] {
  const L = ids.length;
  const table = weight('tokenEmbedding.weight');
  let x = ids.map((id) => Array.from(table.subarray(id * E, (id + 1) * E))); // [L, E]
  const layers: number[][][][] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    const q = affine(x, `layers.${layer}.queryProjection`); // [L, E]
    const k = affine(x, `layers.${layer}.keyProjection`); // [L, E]
    const v = affine(x, `layers.${layer}.valueProjection`); // [L, E]
    const heads: number[][][] = [];
    const context = x.map(() => new Array<number>(E).fill(0)); // [L, E]
    for (let h = 0; h < H; h++) {
      const part = (m: number[][], i: number): number[] => m[i]!.slice(h * d, (h + 1) * d);
      const w: number[][] = [];
      for (let i = 0; i < L; i++) {
        const qi = rotate(part(q, i), i);
        const scores = Array.from({ length: i + 1 }, (_, j) => qi.reduce((s, a, f) => s + a * rotate(part(k, j), j)[f]!, 0) / Math.sqrt(d));
        const top = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - top));
        const total = exps.reduce((s, e) => s + e, 0);
        const row = [...exps.map((e) => e / total), ...new Array<number>(L - i - 1).fill(0)];
        w.push(row);
        for (let j = 0; j <= i; j++) for (let f = 0; f < d; f++) context[i]![h * d + f]! += row[j]! * v[j]![h * d + f]!;
      }
      heads.push(w);
    }
    layers.push(heads);
    const out = affine(context, `layers.${layer}.outputProjection`);
    x = x.map((row, i) => row.map((value, e) => value + out[i]![e]!));
  }
  return layers;
}

/** This test's own reading of the scores (see the page's rule): mean weights to i − 1, to 0, and to after the last occurrence. */
function naiveScores(w: number[][], ids: number[]): { previousToken: number; firstToken: number; induction: number } {
  const previous: number[] = [];
  const first: number[] = [];
  const induction: number[] = [];
  for (let i = 2; i < ids.length; i++) {
    previous.push(w[i]![i - 1]!);
    first.push(w[i]![0]!);
  }
  for (let i = 1; i < ids.length; i++) {
    const p = ids.slice(0, i).lastIndexOf(ids[i]!);
    if (p >= 0) induction.push(w[i]![p + 1]!);
  }
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  return { previousToken: mean(previous), firstToken: mean(first), induction: mean(induction) };
}

/** Per layer and head, the naive scores averaged over the held-out sequences. */
function naiveHeadScores(sequences: string[]): { previousToken: number; firstToken: number; induction: number }[][] {
  const all = sequences.map((letters) => {
    const ids = idsOf(letters);
    return naiveWeights(ids).map((heads) => heads.map((w) => naiveScores(w, ids)));
  });
  return Array.from({ length: numLayers }, (_, layer) =>
    Array.from({ length: H }, (_, h) => {
      const pick = (key: 'previousToken' | 'firstToken' | 'induction'): number =>
        all.reduce((s, seq) => s + seq[layer]![h]![key], 0) / all.length;
      return { previousToken: pick('previousToken'), firstToken: pick('firstToken'), induction: pick('induction') };
    }),
  );
}

/** The label rule, as the page states it: the highest score if it is at least 0.4. */
function naiveRole(s: { previousToken: number; firstToken: number; induction: number }): string {
  const [role, score] = (
    [
      ['induction', s.induction],
      ['previous token', s.previousToken],
      ['first token', s.firstToken],
    ] as [string, number][]
  ).sort((a, b) => b[1] - a[1])[0]!;
  return score >= 0.4 ? role : 'no clear role';
}

describe('panel 3: the shipped induction model', () => {
  const sequences = file.evaluation.sequences;
  const naive = naiveHeadScores(sequences);

  it('is held out on the sequences the training script draws (32, runs of 5 to 12 letters, each twice)', () => {
    expect(sequences).toEqual(heldOutSequences(32));
    for (const s of sequences) expect(s.slice(0, s.length / 2)).toBe(s.slice(s.length / 2));
  });

  it('has at least one head whose induction score (recomputed from the weights) is 0.5 or more', () => {
    const best = Math.max(...naive.flat().map((s) => s.induction));
    expect(best).toBeGreaterThanOrEqual(0.5);
    // and a previous-token head in layer 1 for it to compose with
    expect(Math.max(...naive[0]!.map((s) => s.previousToken))).toBeGreaterThanOrEqual(0.5);
  });

  it("the page's measurement (heed's MultiHeadAttention weights) gives the same scores and labels", () => {
    const model = new InductionModel(file.config);
    model.loadStateDict(decodeStateDict(file.weights));
    const page = measureHeads(model, sequences.map(idsOf));
    for (let layer = 0; layer < numLayers; layer++) {
      for (let h = 0; h < H; h++) {
        for (const key of ['previousToken', 'firstToken', 'induction'] as const) {
          expect(page.scores[layer]![h]![key]).toBeCloseTo(naive[layer]![h]![key], 4);
          expect(file.evaluation.scores[layer]![h]![key]).toBeCloseTo(naive[layer]![h]![key], 4);
        }
        expect(page.roles[layer]![h]).toBe(naiveRole(naive[layer]![h]!));
        expect(headRole(page.scores[layer]![h]!)).toBe(naiveRole(naive[layer]![h]!));
        expect(file.evaluation.roles[layer]![h]).toBe(naiveRole(naive[layer]![h]!));
      }
    }
    expect(file.evaluation.roles.flat()).toContain('induction');
  });

  it('the untrained model (the same seed, before training) has no induction head: the control', () => {
    const untrained = measureHeads(new InductionModel(file.config), sequences.map(idsOf));
    expect(Math.max(...untrained.scores.flat().map((s) => s.induction))).toBeLessThan(0.3);
    expect(untrained.roles.flat()).not.toContain('induction');
  });
});

describe("panel 3's sequence box", () => {
  it('takes letters, ignoring spaces and case, after the start token', () => {
    expect(parseLetters('Ab c')).toEqual({ ok: true, ids: [0, 1, 2, 3] });
  });
  it('says what is wrong: empty, a foreign character, too long', () => {
    expect(parseLetters('  ')).toMatchObject({ ok: false, problem: expect.stringContaining('empty') });
    expect(parseLetters('ab1c!')).toMatchObject({ ok: false, problem: expect.stringContaining('“1”, “!”') });
    expect(parseLetters('a'.repeat(25))).toMatchObject({ ok: false, problem: expect.stringContaining('At most 24') });
  });
});
