import { LlamaAttention, MultiHeadAttention } from '@heed/multi-head';
import { DotScorer } from '@heed/scorers';
import { attend, BiasedScorer, RelativePositionBias } from '@heed/soft-attention';
import {
  Adam,
  attentionWeights,
  crossEntropy,
  DeviceError,
  Linear,
  mseLoss,
  mul,
  Rng,
  randn,
  reshape,
  scaledDotProductAttentionWithLogSumExp,
  sum,
  type Tensor,
  tensor,
  toDevice,
} from '@heed/tensor';
import { expectClose } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pair, testBackend } from '../test/test-backend';
import type { WebGpuBackend } from './webgpu-backend';

// Attention and a whole training step on the GPU against the CPU. Tolerances: the fused attention forward to
// 2e-5 (float32 online softmax in another order), gradients to 1e-4 relative + 2e-5 absolute.
const FORWARD = { atol: 2e-5, rtol: 2e-5 };
const GRADIENT = { atol: 2e-5, rtol: 1e-4 };

beforeAll(async () => {
  await testBackend();
});

/** Runs the enclosing describe's tests on the tiled attention kernels (the default) or on the row kernels. */
function useKernelSet(kernelSet: 'tiled' | 'rows'): void {
  let tiled: WebGpuBackend['attention'] | null = null;
  beforeAll(async () => {
    const backend = await testBackend();
    tiled = backend.attention;
    if (kernelSet === 'rows') backend.attention = backend.rowAttention;
  });
  afterAll(async () => {
    (await testBackend()).attention = tiled!;
  });
}

for (const kernelSet of ['tiled', 'rows'] as const) {
  describe(`scaledDotProductAttention on the GPU (${kernelSet} kernels) equals the CPU`, () => {
    useKernelSet(kernelSet);
    const cases = [
      {
        name: 'plain',
        shapes: [
          [2, 3, 5, 7],
          [2, 3, 9, 7],
          [2, 3, 9, 6],
        ],
        options: {},
      },
      {
        name: 'causal with an offset',
        shapes: [
          [1, 2, 6, 4],
          [1, 2, 9, 4],
          [1, 2, 9, 4],
        ],
        options: { causal: { offset: 3 } },
      },
      {
        name: 'sliding window',
        shapes: [
          [1, 1, 11, 3],
          [1, 1, 11, 3],
          [1, 1, 11, 5],
        ],
        options: { causal: true, windowStart: -3 },
      },
      {
        name: 'GQA',
        shapes: [
          [2, 4, 5, 3],
          [2, 2, 7, 3],
          [2, 2, 7, 3],
        ],
        options: { groupSize: 2 },
      },
      {
        name: 'sequence-first GQA',
        shapes: [
          [2, 5, 4, 3],
          [2, 7, 2, 3],
          [2, 7, 2, 3],
        ],
        options: { groupSize: 2, layout: 'sequence-first' as const },
      },
    ];
    for (const { name, shapes, options } of cases) {
      it(name, async () => {
        const rng = new Rng(11);
        const [[q, gq], [k, gk], [v, gv]] = [
          await pair(shapes[0]!, rng, true),
          await pair(shapes[1]!, rng, true),
          await pair(shapes[2]!, rng, true),
        ];
        const cpu = scaledDotProductAttentionWithLogSumExp(q, k, v, options);
        const gpu = scaledDotProductAttentionWithLogSumExp(gq, gk, gv, options);
        expectClose(await gpu.output.read(), cpu.output.data, FORWARD, 'output');
        expectClose(await gpu.logSumExp.read(), cpu.logSumExp.data, FORWARD, 'logSumExp');
        const dOut = randn(cpu.output.shape, rng);
        cpu.output.backward(dOut);
        gpu.output.backward(await toDevice(dOut, 'webgpu'));
        for (const [g, c, label] of [
          [gq, q, 'dq'],
          [gk, k, 'dk'],
          [gv, v, 'dv'],
        ] as const) {
          expectClose(await g.grad!.read(), c.grad!.data, GRADIENT, label);
        }
      });
    }

    it('a keep mask, fully masked rows included (zeros, no gradient, never NaN)', async () => {
      const rng = new Rng(12);
      const [[q, gq], [k, gk], [v, gv]] = [
        await pair([1, 2, 3, 4], rng, true),
        await pair([1, 2, 5, 4], rng, true),
        await pair([1, 2, 5, 4], rng, true),
      ];
      const attentionMask = tensor([
        [1, 0, 1, 1, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 1],
      ]); // [Lq, Lk], a host tensor
      const cpu = scaledDotProductAttentionWithLogSumExp(q, k, v, { attentionMask });
      const gpu = scaledDotProductAttentionWithLogSumExp(gq, gk, gv, { attentionMask });
      const output = await gpu.output.read();
      expect(output.some(Number.isNaN)).toBe(false);
      expectClose(output, cpu.output.data, FORWARD, 'output');
      expectClose(await gpu.logSumExp.read(), cpu.logSumExp.data, FORWARD, 'logSumExp');
      const dOut = randn(cpu.output.shape, rng);
      cpu.output.backward(dOut);
      gpu.output.backward(await toDevice(dOut, 'webgpu'));
      expectClose(await gq.grad!.read(), q.grad!.data, GRADIENT, 'dq');
      expectClose(await gk.grad!.read(), k.grad!.data, GRADIENT, 'dk');
    });
  });

  describe(`attentionWeights on the GPU (${kernelSet} kernels) equals the CPU`, () => {
    useKernelSet(kernelSet);
    for (const layout of ['heads-first', 'sequence-first'] as const) {
      it(`${layout}, GQA, causal, a keep mask, repeated rows: weights and their gradients`, async () => {
        const rng = new Rng(14);
        const shapes =
          layout === 'heads-first'
            ? [
                [2, 4, 5, 3],
                [2, 2, 7, 3],
              ]
            : [
                [2, 5, 4, 3],
                [2, 7, 2, 3],
              ];
        const [[q, gq], [k, gk]] = [await pair(shapes[0]!, rng, true), await pair(shapes[1]!, rng, true)];
        const v = randn(layout === 'heads-first' ? [2, 2, 7, 3] : [2, 7, 2, 3], rng);
        const attentionMask = tensor([[1, 1, 0, 1, 1, 1, 1]]); // [1, Lk]: key 2 hidden from every query
        const options = { groupSize: 2, layout, causal: { offset: 1 }, attentionMask };
        const { logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, options);
        const gpuLse = scaledDotProductAttentionWithLogSumExp(gq, gk, await toDevice(v, 'webgpu'), options).logSumExp;
        const rows = [4, 0, 2, 2];
        const cpu = attentionWeights(q, k, logSumExp, { ...options, rows });
        const gpu = attentionWeights(gq, gk, gpuLse, { ...options, rows });
        expectClose(await gpu.read(), cpu.data, FORWARD, 'weights');
        const g = randn(cpu.shape, rng);
        cpu.backward(g);
        gpu.backward(await toDevice(g, 'webgpu'));
        expectClose(await gq.grad!.read(), q.grad!.data, GRADIENT, 'dq');
        expectClose(await gk.grad!.read(), k.grad!.data, GRADIENT, 'dk');
      });
    }
  });
}

describe('MultiHeadAttention on the GPU', () => {
  it('asking for its weights (the default) runs on the GPU', async () => {
    const rng = new Rng(15);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng });
    const x = randn([1, 4, 8], rng);
    const cpu = layer.forward(x, x, x, { causal: true });
    await layer.toDevice('webgpu');
    const gpu = layer.forward(await toDevice(x, 'webgpu'), await toDevice(x, 'webgpu'), await toDevice(x, 'webgpu'), { causal: true });
    expectClose(await gpu.output.read(), cpu.output.data, FORWARD, 'output');
    expectClose(await gpu.weights!.read(), cpu.weights!.data, FORWARD, 'weights');
  });
});

describe('attention variants on the GPU', () => {
  it('ALiBi, soft-capping and segments on the tiled kernels equal the CPU, forward and backward', async () => {
    const rng = new Rng(13);
    const [[q, gq], [k, gk], [v, gv]] = [
      await pair([2, 2, 5, 4], rng, true),
      await pair([2, 2, 6, 4], rng, true),
      await pair([2, 2, 6, 4], rng, true),
    ];
    const options = {
      alibiSlopes: [0.5, 0.25],
      softcap: 3,
      querySegments: Int32Array.from([0, 0, 1, 1, 1, 0, 0, 0, 0, 2]), // [B, Lq]
      keySegments: Int32Array.from([0, 0, 1, 1, 1, 1, 0, 0, 1, 2, 2, 2]), // [B, Lk]
    };
    const cpu = scaledDotProductAttentionWithLogSumExp(q, k, v, options);
    const gpu = scaledDotProductAttentionWithLogSumExp(gq, gk, gv, options);
    expectClose(await gpu.output.read(), cpu.output.data, FORWARD, 'output');
    const dOut = randn(cpu.output.shape, rng);
    cpu.output.backward(dOut);
    gpu.output.backward(await toDevice(dOut, 'webgpu'));
    expectClose(await gq.grad!.read(), q.grad!.data, GRADIENT, 'dq');
    expectClose(await gk.grad!.read(), k.grad!.data, GRADIENT, 'dk');
    expectClose(await gv.grad!.read(), v.grad!.data, GRADIENT, 'dv');
  });

  it('refuses what its kernels do not read, naming the variant: any variant on the row kernels', async () => {
    const rng = new Rng(13);
    const [[, q], [, k], [, v]] = [await pair([1, 2, 3, 4], rng), await pair([1, 2, 5, 4], rng), await pair([1, 2, 5, 4], rng)];
    const backend = await testBackend();
    const tiled = backend.attention;
    backend.attention = backend.rowAttention;
    try {
      expect(() => scaledDotProductAttentionWithLogSumExp(q, k, v, { softcap: 30 })).toThrow(DeviceError);
      expect(() => scaledDotProductAttentionWithLogSumExp(q, k, v, { softcap: 30 })).toThrow(
        /scaledDotProductAttention: softcap is not read by the attention kernels of 'webgpu'/,
      );
      const sinks = await toDevice(tensor([0.5, -0.5]), 'webgpu');
      expect(() => scaledDotProductAttentionWithLogSumExp(q, k, v, { sinks })).toThrow(/sinks is not read/);
    } finally {
      backend.attention = tiled;
    }
  });
});

describe('learned variants (relative position bias, sinks) on the GPU equal the CPU, with their gradients', () => {
  // Shape letters: B batch, H query heads, Hkv key/value heads, Lq queries, Lk keys.
  const cases = [
    { name: 'positionBias', heads: [2, 2], lengths: [5, 6], options: {}, bias: true, sinks: false },
    { name: 'sinks', heads: [2, 2], lengths: [5, 6], options: {}, bias: false, sinks: true },
    {
      name: 'positionBias and sinks with ALiBi, soft-capping and segments',
      heads: [2, 2],
      lengths: [5, 6],
      options: {
        alibiSlopes: [0.5, 0.25],
        softcap: 3,
        querySegments: Int32Array.from([0, 0, 1, 1, 1, 0, 0, 0, 0, 2]), // [B, Lq]
        keySegments: Int32Array.from([0, 0, 1, 1, 1, 1, 0, 0, 1, 2, 2, 2]), // [B, Lk]
      },
      bias: true,
      sinks: true,
    },
    {
      name: 'positionBias and sinks with GQA and a causal offset (a fully masked row: the sink takes the mass)',
      heads: [4, 2],
      lengths: [6, 7],
      options: { groupSize: 2, causal: { offset: -1 } },
      bias: true,
      sinks: true,
    },
  ];
  for (const { name, heads, lengths, options, bias, sinks } of cases) {
    it(name, async () => {
      const rng = new Rng(31);
      const [H, Hkv] = heads as [number, number];
      const [Lq, Lk] = lengths as [number, number];
      const [[q, gq], [k, gk], [v, gv]] = [
        await pair([2, H, Lq, 4], rng, true),
        await pair([2, Hkv, Lk, 4], rng, true),
        await pair([2, Hkv, Lk, 3], rng, true),
      ];
      const [positionBias, gpuBias] = bias ? await pair([H, Lq + Lk - 1], rng, true) : [undefined, undefined];
      const [sinkLogits, gpuSinks] = sinks ? await pair([H], rng, true) : [undefined, undefined];
      const cpu = scaledDotProductAttentionWithLogSumExp(q, k, v, { ...options, positionBias, sinks: sinkLogits });
      const gpu = scaledDotProductAttentionWithLogSumExp(gq, gk, gv, { ...options, positionBias: gpuBias, sinks: gpuSinks });
      expectClose(await gpu.output.read(), cpu.output.data, FORWARD, 'output');
      expectClose(await gpu.logSumExp.read(), cpu.logSumExp.data, FORWARD, 'logSumExp');
      const dOut = randn(cpu.output.shape, rng);
      cpu.output.backward(dOut);
      gpu.output.backward(await toDevice(dOut, 'webgpu'));
      expectClose(await gq.grad!.read(), q.grad!.data, GRADIENT, 'dq');
      expectClose(await gk.grad!.read(), k.grad!.data, GRADIENT, 'dk');
      expectClose(await gv.grad!.read(), v.grad!.data, GRADIENT, 'dv');
      if (gpuBias) expectClose(await gpuBias.grad!.read(), positionBias!.grad!.data, GRADIENT, 'd positionBias');
      if (gpuSinks) expectClose(await gpuSinks.grad!.read(), sinkLogits!.grad!.data, GRADIENT, 'd sinks');
    });
  }

  it('attentionWeights with positionBias, sinks and soft-capping: the weights and the gradients of q, k, the bias and the sinks', async () => {
    const rng = new Rng(32);
    const [[q, gq], [k, gk]] = [await pair([1, 2, 5, 4], rng, true), await pair([1, 2, 6, 4], rng, true)];
    const v = randn([1, 2, 6, 4], rng);
    const [[positionBias, gpuBias], [sinks, gpuSinks]] = [await pair([2, 10], rng, true), await pair([2], rng, true)];
    const cpuOptions = { positionBias, sinks, softcap: 4, causal: true };
    const gpuOptions = { positionBias: gpuBias, sinks: gpuSinks, softcap: 4, causal: true };
    const { logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, cpuOptions);
    const gpuLse = scaledDotProductAttentionWithLogSumExp(gq, gk, await toDevice(v, 'webgpu'), gpuOptions).logSumExp;
    const rows = [4, 0, 2, 2];
    const cpu = attentionWeights(q, k, logSumExp, { ...cpuOptions, rows });
    const gpu = attentionWeights(gq, gk, gpuLse, { ...gpuOptions, rows });
    expectClose(await gpu.read(), cpu.data, FORWARD, 'weights');
    const g = randn(cpu.shape, rng);
    cpu.backward(g);
    gpu.backward(await toDevice(g, 'webgpu'));
    expectClose(await gq.grad!.read(), q.grad!.data, GRADIENT, 'dq');
    expectClose(await gk.grad!.read(), k.grad!.data, GRADIENT, 'dk');
    expectClose(await gpuBias.grad!.read(), positionBias.grad!.data, GRADIENT, 'd positionBias');
    expectClose(await gpuSinks.grad!.read(), sinks.grad!.data, GRADIENT, 'd sinks');
  });

  it('a parameter on the CPU with q, k, v on the GPU (or the reverse) is a DeviceError naming it, never a lost gradient', async () => {
    const rng = new Rng(33);
    const [[q, gq], [k, gk], [v, gv]] = [
      await pair([1, 2, 3, 4], rng, true),
      await pair([1, 2, 5, 4], rng, true),
      await pair([1, 2, 5, 4], rng, true),
    ];
    const [sinks, gpuSinks] = await pair([2], rng, true);
    const [positionBias, gpuBias] = await pair([2, 7], rng, true);
    expect(() => scaledDotProductAttentionWithLogSumExp(gq, gk, gv, { sinks })).toThrow(DeviceError);
    expect(() => scaledDotProductAttentionWithLogSumExp(gq, gk, gv, { sinks })).toThrow(
      expect.objectContaining({ op: 'scaledDotProductAttention', argument: 'sinks' }),
    );
    expect(() => scaledDotProductAttentionWithLogSumExp(gq, gk, gv, { positionBias })).toThrow(
      expect.objectContaining({ op: 'scaledDotProductAttention', argument: 'positionBias' }),
    );
    expect(() => scaledDotProductAttentionWithLogSumExp(q, k, v, { sinks: gpuSinks })).toThrow(DeviceError);
    expect(() => scaledDotProductAttentionWithLogSumExp(q, k, v, { positionBias: gpuBias })).toThrow(DeviceError);
    const { logSumExp } = scaledDotProductAttentionWithLogSumExp(gq, gk, gv, { sinks: gpuSinks });
    expect(() => attentionWeights(gq, gk, logSumExp, { sinks })).toThrow(
      expect.objectContaining({ op: 'attentionWeights', argument: 'sinks' }),
    );
  });
});

describe('LlamaAttention with sinks on the GPU', () => {
  for (const needWeights of [false, true]) {
    const asked = needWeights ? 'with its weights (attentionWeights on the GPU, through the weights too)' : 'fused';
    it(`a step (GQA, sliding window, soft-capping, sinks), ${asked}, equals the CPU: output and every parameter's gradient`, async () => {
      async function step(device: 'cpu' | 'webgpu') {
        const rng = new Rng(41);
        const layer = new LlamaAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2, slidingWindow: 3, softcap: 5, sinks: true, rng });
        const sinks = new Map(layer.namedParameters()).get('normalizer.sinks')!;
        sinks.data.set([0.5, -1, 2, 0]); // [H]
        const x = randn([2, 5, 8], rng); // [B, L, E]
        await layer.toDevice(device);
        const { output, weights } = layer.forward(await toDevice(x, device), { needWeights }); // [B, L, E], [B, H, L, L]
        let loss = sum(mul(output, await toDevice(randn(output.shape, rng), device)));
        if (weights) loss = loss.add(sum(mul(weights, await toDevice(randn(weights.shape, rng), device))));
        loss.backward();
        return {
          output: await output.read(),
          weights: weights ? await weights.read() : null,
          gradients: await Promise.all(layer.namedParameters().map(async ([name, p]) => [name, await p.grad!.read()] as const)),
          device: sinks.device,
        };
      }
      const cpu = await step('cpu');
      const gpu = await step('webgpu');
      expect(gpu.device).toBe('webgpu');
      expectClose(gpu.output, cpu.output, FORWARD, 'output');
      if (needWeights) expectClose(gpu.weights!, cpu.weights!, FORWARD, 'weights');
      expect(gpu.gradients.map(([name]) => name)).toContain('normalizer.sinks');
      gpu.gradients.forEach(([name, g], i) => expectClose(g, cpu.gradients[i]![1], GRADIENT, `d ${name}`));
    });
  }
});

describe("T5's RelativePositionBias on the GPU", () => {
  for (const bidirectional of [true, false]) {
    it(`attend() ${bidirectional ? 'bidirectional' : 'causal'}: the context and the gradients of q, k, v and the bucket table equal the CPU`, async () => {
      async function run(device: 'cpu' | 'webgpu') {
        const rng = new Rng(51);
        const positionBias = new RelativePositionBias({ numHeads: 2, bidirectional, numBuckets: 8, maxDistance: 16 });
        positionBias.relative_attention_bias.data.set(randn([8, 2], rng).data); // [numBuckets, H]
        await positionBias.toDevice(device);
        const scorer = new BiasedScorer(positionBias, { inner: new DotScorer() }); // T5: no 1/√d
        const leaf = async (shape: number[]) => {
          const t = await toDevice(randn(shape, rng), device);
          t.requiresGrad = true;
          return t;
        };
        const [query, keys, values] = [await leaf([2, 2, 9, 4]), await leaf([2, 2, 11, 4]), await leaf([2, 2, 11, 3])];
        const { context } = attend({ query, keys, values, scorer, causal: !bidirectional, needWeights: false }); // [B, H, Lq, dv]
        context.backward(await toDevice(randn(context.shape, rng), device));
        return {
          context: await context.read(),
          gradients: await Promise.all([query, keys, values, positionBias.relative_attention_bias].map((t) => t.grad!.read())),
          device: positionBias.relative_attention_bias.device,
        };
      }
      const cpu = await run('cpu');
      const gpu = await run('webgpu');
      expect(gpu.device).toBe('webgpu');
      expectClose(gpu.context, cpu.context, FORWARD, 'context');
      ['dq', 'dk', 'dv', 'd relative_attention_bias'].forEach((label, i) =>
        expectClose(gpu.gradients[i]!, cpu.gradients[i]!, GRADIENT, label),
      );
    });
  }
});

describe('a MultiHeadAttention training step on WebGPU equals the CPU one', () => {
  async function trainingSteps(device: 'cpu' | 'webgpu', steps: number) {
    const rng = new Rng(21);
    // No projection biases: the key bias has a gradient of exactly 0 in exact arithmetic (softmax ignores a shift
    // shared by every key), so both devices' gradients there are rounding noise, which Adam's m / √v scales up to ±lr.
    const layer = new MultiHeadAttention({ embedDim: 12, numHeads: 3, numKeyValueHeads: 1, bias: false, rng });
    const head = new Linear(12, 5, { rng });
    const x = randn([2, 7, 12], rng); // [B, L, E]
    const target = randn([2, 7, 12], rng);
    const classes = Array.from({ length: 14 }, (_, i) => (i * 3) % 5);
    await layer.toDevice(device);
    await head.toDevice(device);
    const [input, wanted] = [await toDevice(x, device), await toDevice(target, device)];
    const optimizer = new Adam([...layer.parameters(), ...head.parameters()], { lr: 0.01 });
    const losses: Tensor[] = [];
    for (let step = 0; step < steps; step++) {
      optimizer.zeroGrad();
      const { output } = layer.forward(input, input, input, { causal: true, needWeights: false }); // [B, L, E]
      const logits = reshape(head.forward(output), [14, 5]); // [B·L, classes]
      const loss = mseLoss(output, wanted).add(crossEntropy(logits, classes));
      loss.backward();
      optimizer.step();
      losses.push(loss);
    }
    const parameters = await Promise.all([...layer.parameters(), ...head.parameters()].map((p) => p.read()));
    const gradients = await Promise.all([...layer.parameters(), ...head.parameters()].map((p) => p.grad!.read()));
    return { losses: await Promise.all(losses.map(async (l) => (await l.read())[0]!)), parameters, gradients, layer };
  }

  it('forward, loss, backward and Adam, three steps: losses, gradients and parameters agree', async () => {
    const cpu = await trainingSteps('cpu', 3);
    const gpu = await trainingSteps('webgpu', 3);
    expect(gpu.layer.parameters()[0]!.device).toBe('webgpu');
    expectClose(gpu.losses, cpu.losses, { atol: 1e-5, rtol: 1e-5 }, 'losses');
    gpu.gradients.forEach((g, i) => expectClose(g, cpu.gradients[i]!, GRADIENT, `gradient ${i}`));
    gpu.parameters.forEach((p, i) => expectClose(p, cpu.parameters[i]!, { atol: 1e-5, rtol: 1e-5 }, `parameter ${i}`));
  });
});
