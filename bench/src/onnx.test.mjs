import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { mhaContribModel, mhaModel, sdpaModel } from './onnx.mjs';
import { HEAD_DIM, HEADS, MODEL_DIM, causalAdditiveMask, compare, flopsOf, makeInputs, makeWeights } from './problem.mjs';
import { mhaReference, sdpaReference } from './attention-reference.mjs';

describe('ONNX graphs run in onnxruntime-node and compute attention', () => {
  const L = 8;

  it('SDPA, plain and causal', async () => {
    const { q, k, v } = makeInputs('sdpa', L);
    for (const causal of [false, true]) {
      const session = await ort.InferenceSession.create(sdpaModel(L, { causal }));
      const shape = [1, HEADS, L, HEAD_DIM];
      const feeds = {
        q: new ort.Tensor('float32', q, shape),
        k: new ort.Tensor('float32', k, shape),
        v: new ort.Tensor('float32', v, shape),
      };
      if (causal) feeds.mask = new ort.Tensor('float32', causalAdditiveMask(L), [L, L]);
      const out = (await session.run(feeds)).out.data;
      const ref = sdpaReference(q, k, v, L, causal ? causalAdditiveMask(L) : null);
      expect(compare(out, ref).relDiff).toBeLessThan(1e-5);
      await session.release();
    }
  });

  it('MHA forward with heed-layout weights', async () => {
    const w = makeWeights();
    const { x } = makeInputs('mha', L);
    const d = MODEL_DIM;
    const ref = mhaReference(x, w, L);
    const session = await ort.InferenceSession.create(mhaModel(L, w));
    const out = (await session.run({ x: new ort.Tensor('float32', x, [1, L, d]) })).out.data;
    expect(compare(out, ref).relDiff).toBeLessThan(1e-5);
    await session.release();
  });

  it('MHA forward around com.microsoft.MultiHeadAttention (the GPU bench graph), with its present_key/value', async () => {
    const w = makeWeights();
    const { x } = makeInputs('mha', L);
    const session = await ort.InferenceSession.create(mhaContribModel(L, w));
    const result = await session.run({ x: new ort.Tensor('float32', x, [1, L, MODEL_DIM]) });
    expect(compare(result.out.data, mhaReference(x, w, L)).relDiff).toBeLessThan(1e-5);
    expect(result.present_key.dims).toEqual([1, HEADS, L, HEAD_DIM]);
    await session.release();
  });
});

describe('FLOP counts', () => {
  it('follow the issue: 4 projections of 2·L·d² plus 4·L²·d; SDPA 4·L²·512', () => {
    expect(flopsOf('mha', 1024)).toBe(4 * 2 * 1024 * 512 * 512 + 4 * 1024 * 1024 * 512);
    expect(flopsOf('sdpa', 1024)).toBe(4 * 1024 * 1024 * 512);
    expect(flopsOf('train', 512)).toBe(3 * flopsOf('mha', 512));
  });
});
