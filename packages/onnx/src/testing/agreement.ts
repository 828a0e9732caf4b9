import { expect } from 'vitest';
import { Tensor, type Rng } from '@heed/tensor';
import type { ExportToOnnxOptions } from '../export-to-onnx';
import { relativeError, runModel, runModelOutputs, type Feed, type RuntimeName } from './runtimes';

// Every configuration is exported once, run in onnxruntime-node and onnxruntime-web at two sequence
// lengths (the same model: its batch and length axes are dynamic), and compared with heed's own output
// on the same inputs: max |onnx − heed| / max |heed| ≤ 1e-5 (1e-4 for sparsemax and entmax).

export const RUNTIMES: RuntimeName[] = ['onnxruntime-node', 'onnxruntime-web'];
export const SCORERS = ['dot', 'scaled-dot', 'general', 'concat', 'additive', 'cosine'] as const;
export const NORMALIZERS = [{ kind: 'softmax', temperature: 0.7 }, { kind: 'sparsemax' }, { kind: 'entmax15', temperature: 1.3 }] as const;
export const MASK_FORMS = ['none', 'attentionMask', 'keyPaddingMask', 'causal', 'all'] as const;
export type MaskForm = (typeof MASK_FORMS)[number];
export const LENGTHS = [
  [5, 7],
  [9, 4],
] as const; // [Lq, Lk] pairs (self-attention uses Lq)
export const B = 2;

const worst: Record<string, number> = {};
function record(label: string, error: number): void {
  worst[label] = Math.max(worst[label] ?? 0, error);
}
/** Prints the largest error seen per group (call in afterAll). */
export function reportWorst(): void {
  console.log(
    `max relative error by group:\n${Object.entries(worst)
      .map(([k, v]) => `  ${k}: ${v.toExponential(2)}`)
      .join('\n')}`,
  );
}

export const toleranceFor = (normalizer: { kind: string }): number => (normalizer.kind === 'softmax' ? 1e-5 : 1e-4);

/** A 0/1 tensor with p of its entries 1. */
export function bernoulli(shape: number[], p: number, rng: Rng): Tensor {
  const t = new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = rng.uniform() < p ? 1 : 0;
  return t;
}

/** Masks for one form: attentionMask [B, (1,) Lq, Lk] with row 0 of batch 0 fully masked; keyPaddingMask [B, Lk]. */
export function masksFor(
  form: MaskForm,
  Lq: number,
  Lk: number,
  heads: boolean,
  rng: Rng,
): { attentionMask?: Tensor; keyPaddingMask?: Tensor; causal: boolean } {
  const out: { attentionMask?: Tensor; keyPaddingMask?: Tensor; causal: boolean } = { causal: form === 'causal' || form === 'all' };
  if (form === 'attentionMask' || form === 'all') {
    const mask = bernoulli(heads ? [B, 1, Lq, Lk] : [B, Lq, Lk], 0.7, rng);
    for (let j = 0; j < Lk; j++) mask.data[j] = 0; // a fully masked row: zero weights, zero context
    out.attentionMask = mask;
  }
  if (form === 'keyPaddingMask' || form === 'all') {
    const padding = bernoulli([B, Lk], 1, rng);
    padding.data[Lk - 1] = 0; // batch 0: last key is padding
    padding.data[Lk + Lk - 2] = 0; // batch 1: the second to last
    out.keyPaddingMask = padding;
  }
  return out;
}

export const exportOptionsFor = (form: MaskForm): Pick<ExportToOnnxOptions, 'attentionMask' | 'keyPaddingMask' | 'causal'> => ({
  attentionMask: form === 'attentionMask' || form === 'all',
  keyPaddingMask: form === 'keyPaddingMask' || form === 'all',
  causal: form === 'causal' || form === 'all',
});

export function maskFeeds(masks: { attentionMask?: Tensor; keyPaddingMask?: Tensor }): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  if (masks.attentionMask) feeds.attentionMask = { tensor: masks.attentionMask, type: 'bool' };
  if (masks.keyPaddingMask) feeds.keyPaddingMask = { tensor: masks.keyPaddingMask, type: 'bool' };
  return feeds;
}

/** Runs the model in both runtimes and checks every case against heed's output. */
export async function expectAgreement(
  label: string,
  bytes: Uint8Array,
  cases: { feeds: Record<string, Feed>; expected: Tensor }[],
  tolerance: number,
): Promise<void> {
  for (const runtime of RUNTIMES) {
    const outputs = await runModel(
      runtime,
      bytes,
      cases.map((c) => c.feeds),
    );
    outputs.forEach((output, i) => {
      const error = relativeError(output, cases[i]!.expected.data);
      record(`${label} (${runtime})`, error);
      expect(error, `${label}, ${runtime}, case ${i}`).toBeLessThanOrEqual(tolerance);
    });
  }
}

export const float = (tensor: Tensor): Feed => ({ tensor, type: 'float' });

/** As `expectAgreement`, for every output of the graph (in order: the output, then e.g. present_key, present_value). */
export async function expectOutputsAgreement(
  label: string,
  bytes: Uint8Array,
  cases: { feeds: Record<string, Feed>; expected: Tensor[] }[],
  tolerance: number,
): Promise<void> {
  for (const runtime of RUNTIMES) {
    const outputs = await runModelOutputs(
      runtime,
      bytes,
      cases.map((c) => c.feeds),
    );
    outputs.forEach((all, i) => {
      const expected = cases[i]!.expected;
      expect(all.length, `${label}, ${runtime}, case ${i}: outputs`).toBe(expected.length);
      all.forEach((output, o) => {
        expect(output.dims, `${label}, ${runtime}, case ${i}, ${output.name}`).toEqual([...expected[o]!.shape]);
        const error = relativeError(output.data, expected[o]!.data);
        record(`${label} (${runtime})`, error);
        expect(error, `${label}, ${runtime}, case ${i}, ${output.name}`).toBeLessThanOrEqual(tolerance);
      });
    });
  }
}

export const int64 = (tensor: Tensor): Feed => ({ tensor, type: 'int64' });
