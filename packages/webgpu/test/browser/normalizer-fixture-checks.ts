// The sparse normalizers' and hard attention's PyTorch fixtures in the page: sparsemax, sparsemax_boundary_ties,
// entmax15, entmax_alpha_1_25/1_75 (fixtures/pytorch, fixtures/variants) and sparsemax_attention,
// gumbel_softmax_straight_through, run on WebGPU forward and backward and compared with PyTorch's float64 numbers.
// Support sizes and picked keys are compared as numbers too (any difference is far beyond the tolerance).
// The Node route runs the same fixtures in src/webgpu-normalizer-fixtures.test.ts.
import { ScaledDotScorer } from '@heed/scorers';
import { alphaEntmax, attend, entmax15, sparsemax, straightThroughGumbelSoftmax } from '@heed/soft-attention';
import { matmul, mul, softmax, sum, Tensor, toDevice } from '@heed/tensor';
import entmax15Fixture from '../../../../fixtures/pytorch/entmax15.json';
import sparsemaxFixture from '../../../../fixtures/pytorch/sparsemax.json';
import sparsemaxAttention from '../../../../fixtures/pytorch/sparsemax_attention.json';
import sparsemaxBoundaryTies from '../../../../fixtures/pytorch/sparsemax_boundary_ties.json';
import entmaxAlpha125 from '../../../../fixtures/variants/entmax_alpha_1_25.json';
import entmaxAlpha175 from '../../../../fixtures/variants/entmax_alpha_1_75.json';
import gumbelStraightThrough from '../../../../fixtures/variants/gumbel_softmax_straight_through.json';
import { compare } from '../compare';
import type { RouteCheck } from './route-result';

interface StoredTensor {
  readonly shape: number[];
  readonly data: (number | string)[];
}

interface StoredFixture {
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly inputs: Record<string, StoredTensor>;
  readonly outputs: Record<string, StoredTensor>;
  readonly grad_outputs?: Record<string, StoredTensor>;
  readonly grads?: { inputs?: Record<string, StoredTensor> };
}

/** A stored tensor on the GPU, a leaf requiring its gradient ("-Infinity" and friends converted). */
async function onGpu(t: StoredTensor): Promise<Tensor> {
  const leaf = await toDevice(new Tensor(Float32Array.from(t.data, Number), t.shape), 'webgpu');
  leaf.requiresGrad = true;
  return leaf;
}

/** Entries > 0 in each row of p [R, n]. */
function supportSizes(p: Float32Array, n: number): number[] {
  return Array.from({ length: p.length / n }, (_, r) => p.subarray(r * n, (r + 1) * n).filter((v) => v > 0).length);
}

/** The index of the 1 in each row of a one-hot [R, n] (−1 for a zero row). */
function picks(p: Float32Array, n: number): number[] {
  return Array.from({ length: p.length / n }, (_, r) => p.subarray(r * n, (r + 1) * n).indexOf(1));
}

/** Runs the fixtures on WebGPU; returns one check per compared result, named `fixture <name> <result>`. */
export async function normalizerFixtureChecks(): Promise<{ checks: RouteCheck[]; devices: Set<string> }> {
  const checks: RouteCheck[] = [];
  const devices = new Set<string>();
  const check = async (name: string, gpu: Tensor, reference: StoredTensor) => {
    devices.add(gpu.device);
    checks.push(compare(`fixture ${name}`, await gpu.read(), gpu.shape, reference.data.map(Number), reference.shape));
  };
  /** Per-row integers (support sizes, picked keys) of a [..., n] result: shape [...]. */
  const counts = (name: string, got: number[], shape: readonly number[], reference: StoredTensor) =>
    checks.push(compare(`fixture ${name}`, got, shape, reference.data.map(Number), reference.shape));

  const normalizers: [StoredFixture, (z: Tensor, f: StoredFixture) => Tensor][] = [
    [sparsemaxFixture as StoredFixture, (z) => sparsemax(z)],
    [sparsemaxBoundaryTies as StoredFixture, (z) => sparsemax(z)],
    [entmax15Fixture as StoredFixture, (z) => entmax15(z)],
    [entmaxAlpha125 as StoredFixture, (z, f) => alphaEntmax(z, f.config.alpha as number)],
    [entmaxAlpha175 as StoredFixture, (z, f) => alphaEntmax(z, f.config.alpha as number)],
  ];
  for (const [f, apply] of normalizers) {
    const z = await onGpu(f.inputs.z!); // [R, n]
    const output = apply(z, f); // [R, n]
    await check(`${f.name} output`, output, f.outputs.output!);
    counts(`${f.name} support sizes`, supportSizes(await output.read(), z.shape[1]!), z.shape.slice(0, -1), f.outputs.support_size!);
    if (f.grad_outputs === undefined) continue; // forward-only fixture
    sum(mul(output, await onGpu(f.grad_outputs.output!))).backward();
    await check(`${f.name} grad z`, z.grad!, f.grads!.inputs!.z!);
  }

  const sparse = sparsemaxAttention as StoredFixture;
  const [query, keys, values] = [await onGpu(sparse.inputs.query!), await onGpu(sparse.inputs.key!), await onGpu(sparse.inputs.value!)];
  const scorer = new ScaledDotScorer({ scale: sparse.config.scale as number });
  const { context, weights } = attend({ query, keys, values, scorer, normalizer: { kind: 'sparsemax' } }); // [B, Lq, dv], [B, Lq, Lk]
  await check(`${sparse.name} attn_weights`, weights!, sparse.outputs.attn_weights!);
  await check(`${sparse.name} output`, context, sparse.outputs.output!);
  sum(mul(context, await onGpu(sparse.grad_outputs!.output!))).backward();
  for (const [name, leaf] of Object.entries({ query, key: keys, value: values }))
    await check(`${sparse.name} grad ${name}`, leaf.grad!, sparse.grads!.inputs![name]!);

  const hard = gumbelStraightThrough as StoredFixture;
  const [q, k, v, noise] = await Promise.all(
    [hard.inputs.query!, hard.inputs.key!, hard.inputs.value!, hard.inputs.gumbel_noise!].map(onGpu),
  );
  const scores = new ScaledDotScorer().score(q!, k!); // [B, Lq, Lk]
  const oneHot = straightThroughGumbelSoftmax(scores, { temperature: hard.config.tau as number, noise: noise! }); // [B, Lq, Lk]
  await check(`${hard.name} attn_weights`, oneHot, hard.outputs.attn_weights!);
  counts(`${hard.name} index`, picks(await oneHot.read(), k!.shape[1]!), oneHot.shape.slice(0, -1), hard.outputs.index!);
  await check(`${hard.name} soft_weights`, softmax(scores.add(noise!).div(hard.config.tau as number)), hard.outputs.soft_weights!);
  const hardContext = matmul(oneHot, v!); // [B, Lq, dv]
  await check(`${hard.name} context`, hardContext, hard.outputs.context!);
  sum(mul(hardContext, await onGpu(hard.grad_outputs!.context!))).backward();
  for (const [name, leaf] of Object.entries({ query: q!, key: k!, value: v!, gumbel_noise: noise! }))
    await check(`${hard.name} grad ${name}`, leaf.grad!, hard.grads!.inputs![name]!);
  return { checks, devices };
}
