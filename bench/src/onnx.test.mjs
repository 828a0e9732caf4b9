import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { bytesField, floatField, intField, mhaModel, sdpaModel, varint } from './onnx.mjs';
import { HEAD_DIM, HEADS, MODEL_DIM, SCALE, causalAdditiveMask, compare, flopsOf, makeInputs, makeWeights } from './problem.mjs';

const bytes = (u8) => [...u8];

describe('protobuf wire format', () => {
  it('encodes varints, including negative int64 as ten bytes', () => {
    expect(bytes(varint(0))).toEqual([0]);
    expect(bytes(varint(300))).toEqual([0xac, 0x02]);
    expect(bytes(varint(-1))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });
  it('encodes fields with their keys', () => {
    expect(bytes(intField(1, 150))).toEqual([0x08, 0x96, 0x01]);
    expect(bytes(bytesField(2, Uint8Array.of(1, 2)))).toEqual([0x12, 2, 1, 2]);
    expect(bytes(floatField(2, 1))).toEqual([0x15, 0, 0, 0x80, 0x3f]);
  });
});

/** float64 reference: softmax(q kᵀ · scale + mask) v for one head, rows of [L, dh]. */
function attentionReference(q, k, v, L, dh, mask) {
  const out = new Float64Array(L * dh);
  for (let i = 0; i < L; i++) {
    const s = new Float64Array(L);
    let max = -Infinity;
    for (let j = 0; j < L; j++) {
      let dot = 0;
      for (let c = 0; c < dh; c++) dot += q[i * dh + c] * k[j * dh + c];
      s[j] = dot * SCALE + (mask ? mask[i * L + j] : 0);
      max = Math.max(max, s[j]);
    }
    let sum = 0;
    for (let j = 0; j < L; j++) sum += s[j] = Math.exp(s[j] - max);
    for (let j = 0; j < L; j++) for (let c = 0; c < dh; c++) out[i * dh + c] += (s[j] / sum) * v[j * dh + c];
  }
  return out;
}

describe('ONNX graphs run in onnxruntime-node and compute attention', () => {
  const L = 8;

  it('SDPA, plain and causal', async () => {
    const { q, k, v } = makeInputs('sdpa', L);
    for (const causal of [false, true]) {
      const session = await ort.InferenceSession.create(sdpaModel(L, { causal }));
      const shape = [1, HEADS, L, HEAD_DIM];
      const feeds = { q: new ort.Tensor('float32', q, shape), k: new ort.Tensor('float32', k, shape), v: new ort.Tensor('float32', v, shape) };
      if (causal) feeds.mask = new ort.Tensor('float32', causalAdditiveMask(L), [L, L]);
      const out = (await session.run(feeds)).out.data;
      const n = L * HEAD_DIM;
      const ref = new Float32Array(HEADS * n);
      for (let h = 0; h < HEADS; h++) {
        const head = (a) => a.subarray(h * n, (h + 1) * n);
        ref.set(attentionReference(head(q), head(k), head(v), L, HEAD_DIM, causal ? causalAdditiveMask(L) : null), h * n);
      }
      expect(compare(out, ref).relDiff).toBeLessThan(1e-5);
      await session.release();
    }
  });

  it('MHA forward with heed-layout weights', async () => {
    const w = makeWeights();
    const { x } = makeInputs('mha', L);
    const d = MODEL_DIM;
    const linear = (input, weight, bias) => {
      const y = new Float64Array(L * d);
      for (let i = 0; i < L; i++) for (let o = 0; o < d; o++) {
        let s = bias[o];
        for (let c = 0; c < d; c++) s += input[i * d + c] * weight[o * d + c];
        y[i * d + o] = s;
      }
      return y;
    };
    const [q, k, v] = [linear(x, w.wq, w.bq), linear(x, w.wk, w.bk), linear(x, w.wv, w.bv)];
    const ctx = new Float64Array(L * d);
    const headOf = (a, h) => {
      const out = new Float64Array(L * HEAD_DIM);
      for (let i = 0; i < L; i++) for (let c = 0; c < HEAD_DIM; c++) out[i * HEAD_DIM + c] = a[i * d + h * HEAD_DIM + c];
      return out;
    };
    for (let h = 0; h < HEADS; h++) {
      const o = attentionReference(headOf(q, h), headOf(k, h), headOf(v, h), L, HEAD_DIM, null);
      for (let i = 0; i < L; i++) for (let c = 0; c < HEAD_DIM; c++) ctx[i * d + h * HEAD_DIM + c] = o[i * HEAD_DIM + c];
    }
    const ref = Float32Array.from(linear(ctx, w.wo, w.bo));
    const session = await ort.InferenceSession.create(mhaModel(L, w));
    const out = (await session.run({ x: new ort.Tensor('float32', x, [1, L, d]) })).out.data;
    expect(compare(out, ref).relDiff).toBeLessThan(1e-5);
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
