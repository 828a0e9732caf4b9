import { MultiHeadAttention } from '@heed/multi-head';
import { DotScorer } from '@heed/scorers';
import { attend } from '@heed/soft-attention';
import { ArgumentError, checkFiniteOnDevice, type DeviceFiniteCheck, Rng, randn, tensor, toDevice } from '@heed/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../test/test-backend';

// NaN and ±∞ inputs on the GPU: checked there (a dispatch flags the first offending index), refused at the next
// read with the error the call composed — never a silent NaN.

beforeAll(async () => {
  await testBackend();
});

const check = (L: number, inner: number, from = 0, allowNegativeInfinity = false): DeviceFiniteCheck => ({
  allowNegativeInfinity,
  L,
  inner,
  from,
  error: (index) => new ArgumentError(`x holds NaN or ±∞ at flat index ${index}`, { op: 'op', argument: 'x' }),
});

describe('checkFinite on the GPU', () => {
  it('the next read rejects with the first offending index; −∞ passes when allowed; positions before `from` are skipped', async () => {
    const values = new Float32Array(3000).fill(1); // [3, 1000, 1]: several workgroups
    values[2500] = Infinity;
    values[1200] = -Infinity;
    values[7] = NaN;
    const x = await toDevice(tensor(values, [3, 1000, 1]), 'webgpu');
    const probe = await toDevice(tensor([1, 2]), 'webgpu');
    for (const [c, index] of [
      [check(1, 3000), 7],
      [check(1000, 1, 8), 1200],
      [check(1000, 1, 8, true), 2500],
    ] as const) {
      checkFiniteOnDevice('op', 'x', x, c);
      await expect(probe.read()).rejects.toThrow(new RegExp(`flat index ${index}$`));
      expect(Array.from(await probe.read())).toEqual([1, 2]); // settled: the next read is clean
    }
    checkFiniteOnDevice('op', 'x', x, check(1000, 1, 2501, true));
    expect(Array.from(await x.read())).toEqual(Array.from(values)); // nothing offending after position 2500
  });

  it('attend and MultiHeadAttention on GPU inputs holding NaN: the read of the output rejects, naming the call', async () => {
    const rng = new Rng(4);
    const query = randn([1, 2, 5, 4], rng);
    query.data[13] = NaN;
    const keys = await toDevice(randn([1, 2, 6, 4], rng), 'webgpu');
    const values = await toDevice(randn([1, 2, 6, 4], rng), 'webgpu');
    const { context } = attend({ query: await toDevice(query, 'webgpu'), keys, values, scorer: new DotScorer(), needWeights: false });
    await expect(context.read()).rejects.toThrow(ArgumentError);
    await expect(context.read()).resolves.toHaveLength(40); // settled
    attend({ query: await toDevice(query, 'webgpu'), keys, values, scorer: new DotScorer(), needWeights: false });
    await expect(keys.read()).rejects.toThrow(/query \[1, 2, 5, 4\] holds NaN or ±∞ at flat index 13: attention refuses NaN and ±∞ inputs/);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng });
    await layer.toDevice('webgpu');
    const x = randn([1, 4, 8], rng);
    x.data[9] = Infinity;
    const { output } = layer.forward(await toDevice(x, 'webgpu'), await toDevice(x, 'webgpu'), await toDevice(x, 'webgpu'));
    await expect(output.read()).rejects.toThrow(
      /MultiHeadAttention.forward: query \[1, 4, 8\] holds NaN or ±∞ at flat index 9: NaN and ±∞ inputs are refused/,
    );
  });
});
