import { describe, expect, it } from 'vitest';
import { createHeedOnnx } from './impl-heed-onnx.mjs';
import { causalAdditiveMask, compare, makeInputs, makeWeights } from './problem.mjs';
import { mhaReference, sdpaReference } from './attention-reference.mjs';

// The "heed-trained, served by ONNX Runtime" rows: one exported model per task, fed two lengths
// (its axes are dynamic), checked against the naive float64 reference.

describe('heed modules exported by @heed/onnx, run by onnxruntime-node', () => {
  it('MultiHeadAttention(512, 8) with the bench weights, at two lengths of one model', async () => {
    const setup = await createHeedOnnx(1, 'mha');
    expect(setup.info.path).toMatch(/exportToOnnx\(MultiHeadAttention\): ai\.onnx Attention/);
    const weights = makeWeights();
    for (const L of [4, 9]) {
      const inputs = makeInputs('mha', L);
      const runner = await setup.prepare(L, inputs);
      expect(compare(await runner.run(), mhaReference(inputs.x, weights, L)).relDiff).toBeLessThan(1e-5);
    }
  });

  it('SDPA as an exported attend configuration, plain and causal', async () => {
    for (const causal of [false, true]) {
      const setup = await createHeedOnnx(2, 'sdpa', { causal });
      for (const L of [5, 8]) {
        const { q, k, v } = makeInputs('sdpa', L);
        const runner = await setup.prepare(L, { q, k, v });
        const ref = sdpaReference(q, k, v, L, causal ? causalAdditiveMask(L) : null);
        expect(compare(await runner.run(), ref).relDiff).toBeLessThan(1e-5);
      }
    }
  });

  it('has no training row', async () => {
    await expect(createHeedOnnx(1, 'train')).rejects.toThrow(/no training API/);
  });
});
