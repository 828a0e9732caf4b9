import {
  clipGradNorm,
  clipGradNormAsync,
  crossEntropy,
  embedding,
  gather,
  moveInPlace,
  mul,
  Parameter,
  randn,
  sum,
  type Tensor,
  tanh,
  tensor,
  toDevice,
} from '@heed/tensor';
import { expectClose } from '@heed/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { pair, Rng, testBackend } from '../test/test-backend';

// gather / embedding / crossEntropy (a gather of log-probabilities) and clipGradNormAsync on the GPU against the
// same calls on the CPU. The scatter-add of the gradients sums each position's terms in the CPU's order, so
// only the ops around them (tanh, sums) differ by rounding.
const TOLERANCE = { atol: 1e-5, rtol: 1e-5 };

async function expectSame(gpu: Tensor, cpu: Tensor, label: string): Promise<void> {
  expect(gpu.device).toBe('webgpu');
  expect(gpu.shape).toEqual(cpu.shape);
  expectClose(await gpu.read(), cpu.data, TOLERANCE, label);
}

beforeAll(async () => {
  await testBackend();
});

describe('gathers on the GPU equal the CPU', () => {
  it('embedding: rows picked, repeated ids summing their gradients', async () => {
    const rng = new Rng(11);
    const [w, gw] = await pair([7, 5], rng, true);
    const ids = tensor([
      [0, 3, 3, 6],
      [6, 6, 1, 3],
      [2, 3, 0, 0],
    ]); // [3, 4], row 3 four times, row 4 never
    const weights = randn([3, 4, 5], rng);
    const gpuWeights = await toDevice(weights, 'webgpu');
    const cpuOut = embedding(w, ids); // [3, 4, 5]
    const gpuOut = embedding(gw, ids);
    await expectSame(gpuOut, cpuOut, 'forward');
    sum(mul(tanh(cpuOut), weights)).backward();
    sum(mul(tanh(gpuOut), gpuWeights)).backward();
    expect(gw.grad!.device).toBe('webgpu');
    await expectSame(gw.grad!, w.grad!, 'gradient');
    const unused = (await gw.grad!.read()).subarray(4 * 5, 5 * 5);
    expect(Array.from(unused)).toEqual([0, 0, 0, 0, 0]);
  });

  it('gather along a middle axis, forward and gradient', async () => {
    const rng = new Rng(12);
    const [x, gx] = await pair([2, 5, 3], rng, true);
    const index = tensor([
      [
        [4, 0, 1],
        [4, 4, 2],
        [0, 1, 1],
        [3, 3, 3],
      ],
      [
        [1, 2, 0],
        [1, 1, 4],
        [2, 0, 0],
        [4, 3, 1],
      ],
    ]); // [2, 4, 3]
    const cpuOut = gather(x, 1, index);
    const gpuOut = gather(gx, 1, index);
    await expectSame(gpuOut, cpuOut, 'forward');
    sum(mul(cpuOut, cpuOut)).backward();
    sum(mul(gpuOut, gpuOut)).backward();
    await expectSame(gx.grad!, x.grad!, 'gradient');
  });

  it('crossEntropy, its loss and its gradient', async () => {
    const rng = new Rng(13);
    const [logits, gLogits] = await pair([6, 9], rng, true);
    const targets = [8, 0, 3, 3, 5, 1];
    const cpuLoss = crossEntropy(logits, targets);
    const gpuLoss = crossEntropy(gLogits, targets);
    await expectSame(gpuLoss, cpuLoss, 'loss');
    cpuLoss.backward();
    gpuLoss.backward();
    await expectSame(gLogits.grad!, logits.grad!, 'gradient');
  });

  it('no ids: an empty result, and a zero gradient for every row', async () => {
    const [, gw] = await pair([3, 2], new Rng(16), true);
    const out = embedding(gw, []); // [0, 2]
    expect(out.shape).toEqual([0, 2]);
    expect(Array.from(await out.read())).toEqual([]);
    sum(out).backward();
    expect(Array.from(await gw.grad!.read())).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('refuses an index out of range before any GPU work', async () => {
    const [, gw] = await pair([4, 2], new Rng(14), true);
    expect(() => embedding(gw, [1, 4])).toThrow(/embedding.*index 4 at position 1 is out of range \[0, 4\)/s);
  });
});

describe('clipGradNormAsync on the GPU equals clipGradNorm on the CPU', () => {
  for (const [name, scale, maxNorm] of [
    ['above maxNorm: scaled down', 3, 1],
    ['below maxNorm: unchanged', 0.01, 1],
  ] as const) {
    it(name, async () => {
      const rng = new Rng(15);
      const cpu: Parameter[] = [];
      const gpu: Parameter[] = [];
      for (const shape of [[3, 4], [5], [2, 2]]) {
        const p = Parameter.from(randn(shape, rng));
        p.grad = mul(randn(shape, rng), scale);
        const q = Parameter.from(p);
        q.grad = p.grad;
        await moveInPlace(q, 'webgpu'); // values and gradient
        cpu.push(p);
        gpu.push(q);
      }
      const gpuNorm = await clipGradNormAsync(gpu, maxNorm);
      const cpuNorm = clipGradNorm(cpu, maxNorm);
      expectClose([gpuNorm], [cpuNorm], { atol: 0, rtol: 1e-6 }, 'norm');
      for (let k = 0; k < cpu.length; k++) await expectSame(gpu[k]!.grad!, cpu[k]!.grad!, `grad ${k}`);
    });
  }
});
