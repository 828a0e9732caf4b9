import { ScaledDotScorer } from '@heed/scorers';
import { alphaEntmax, attend, entmax15, sparsemax, straightThroughGumbelSoftmax } from '@heed/soft-attention';
import { matmul, mul, softmax, sum, type Tensor, toDevice } from '@heed/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertClose, type FixtureTensor, loadFixture, type Tolerance, toHeed } from '../../../fixtures/load-fixture';
import { configNumber, integers, loadVariantFixture } from '../../../fixtures/variants/load-variant-fixture';
import { testBackend } from '../test/test-backend';

// The PyTorch fixtures of the sparse normalizers and of hard attention, run on WebGPU (the software adapter) and
// compared with PyTorch's float64 numbers: outputs within heed's contract (1e-6 + 1e-5·|ref|), gradients within
// 1e-5 + 1e-4·|ref|, support sizes and picked keys exactly. The thresholds τ are not compared (no device call
// returns them).
const FORWARD: Tolerance = { atol: 1e-6, rtol: 1e-5 };
const GRADIENT: Tolerance = { atol: 1e-5, rtol: 1e-4 };

beforeAll(async () => {
  await testBackend();
});

/** A stored tensor on the GPU, a leaf (requiring its gradient when asked). */
async function onGpu(t: FixtureTensor, requiresGrad = false): Promise<Tensor> {
  const leaf = await toDevice(toHeed(t), 'webgpu');
  leaf.requiresGrad = requiresGrad;
  return leaf;
}

/** Compares a GPU tensor with a stored one (read back first). */
async function check(label: string, got: Tensor, reference: FixtureTensor, tolerance: Tolerance): Promise<void> {
  expect(got.device, label).toBe('webgpu');
  assertClose(label, { shape: got.shape, data: await got.read() }, reference, tolerance);
}

/** Entries > 0 in each row of p [R, n]. */
function supportSizes(p: Float32Array, n: number): number[] {
  return Array.from({ length: p.length / n }, (_, r) => p.subarray(r * n, (r + 1) * n).filter((v) => v > 0).length);
}

describe('the sparse normalizers’ fixtures on WebGPU', () => {
  const cases = [
    { name: 'sparsemax', load: () => loadFixture('sparsemax'), apply: (z: Tensor) => sparsemax(z) },
    { name: 'sparsemax_boundary_ties', load: () => loadFixture('sparsemax_boundary_ties'), apply: (z: Tensor) => sparsemax(z) },
    { name: 'entmax15', load: () => loadFixture('entmax15'), apply: (z: Tensor) => entmax15(z) },
    ...['entmax_alpha_1_25', 'entmax_alpha_1_75'].map((name) => {
      const fixture = loadVariantFixture(name);
      return { name, load: () => fixture, apply: (z: Tensor) => alphaEntmax(z, configNumber(fixture, 'alpha')) };
    }),
  ];
  for (const { name, load, apply } of cases) {
    it(`${name}: output, exact support sizes${name.includes('boundary') ? '' : ' and the gradient of z'}`, async () => {
      const f = load();
      const z = await onGpu(f.inputs.z!, true); // [R, n]
      const output = apply(z); // [R, n]
      await check(`${name} output`, output, f.outputs.output!, FORWARD);
      expect(supportSizes(await output.read(), z.shape[1]!)).toEqual(integers(f.outputs.support_size!));
      if (f.grad_outputs === undefined) return; // forward-only fixture
      sum(mul(output, await onGpu(f.grad_outputs.output!))).backward();
      await check(`${name} grad z`, z.grad!, f.grads!.inputs!.z!, GRADIENT);
    });
  }

  it('sparsemax_attention: sparse weights, output and the gradients of query, key, value', async () => {
    const f = loadFixture('sparsemax_attention');
    const [query, keys, values] = await Promise.all([f.inputs.query!, f.inputs.key!, f.inputs.value!].map((t) => onGpu(t, true)));
    const { context, weights } = attend({
      query: query!,
      keys: keys!,
      values: values!,
      scorer: new ScaledDotScorer({ scale: f.config.scale as number }),
      normalizer: { kind: 'sparsemax' },
    }); // [B, Lq, dv], [B, Lq, Lk]
    await check('attn_weights', weights!, f.outputs.attn_weights!, FORWARD);
    await check('output', context, f.outputs.output!, FORWARD);
    expect((await weights!.read()).filter((w) => w === 0).length).toBe(f.config.exact_zero_weights);
    sum(mul(context, await onGpu(f.grad_outputs!.output!))).backward();
    await check('grad query', query!.grad!, f.grads!.inputs!.query!, GRADIENT);
    await check('grad key', keys!.grad!, f.grads!.inputs!.key!, GRADIENT);
    await check('grad value', values!.grad!, f.grads!.inputs!.value!, GRADIENT);
  });
});

describe('gumbel_softmax_straight_through on WebGPU', () => {
  it('one-hot weights, the picked keys, context and the surrogate gradients of query, key, value, noise', async () => {
    const f = loadVariantFixture('gumbel_softmax_straight_through');
    const [query, key, value, noise] = await Promise.all(
      [f.inputs.query!, f.inputs.key!, f.inputs.value!, f.inputs.gumbel_noise!].map((t) => onGpu(t, true)),
    );
    const temperature = f.config.tau as number;
    const scores = new ScaledDotScorer().score(query!, key!); // [B, Lq, Lk]
    await check('scores', scores, f.outputs.scores!, FORWARD);
    const weights = straightThroughGumbelSoftmax(scores, { temperature, noise: noise! }); // [B, Lq, Lk]
    await check('attn_weights', weights, f.outputs.attn_weights!, { atol: 0, rtol: 0 });
    const Lk = key!.shape[1]!;
    const hard = await weights.read();
    const picked = Array.from({ length: hard.length / Lk }, (_, r) => hard.subarray(r * Lk, (r + 1) * Lk).indexOf(1));
    expect(picked).toEqual(integers(f.outputs.index!));
    await check('soft_weights', softmax(scores.add(noise!).div(temperature)), f.outputs.soft_weights!, FORWARD);
    const context = matmul(weights, value!); // [B, Lq, dv]
    await check('context', context, f.outputs.context!, FORWARD);
    sum(mul(context, await onGpu(f.grad_outputs!.context!))).backward();
    await check('grad query', query!.grad!, f.grads!.inputs!.query!, GRADIENT);
    await check('grad key', key!.grad!, f.grads!.inputs!.key!, GRADIENT);
    await check('grad value', value!.grad!, f.grads!.inputs!.value!, GRADIENT);
    await check('grad gumbel_noise', noise!.grad!, f.grads!.inputs!.gumbel_noise!, GRADIENT);
  });
});
