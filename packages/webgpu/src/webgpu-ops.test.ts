import {
  Adam,
  abs,
  add,
  broadcastTo,
  concat,
  DeviceError,
  div,
  exp,
  log,
  logSoftmax,
  matmul,
  max,
  maximum,
  mean,
  min,
  moveInPlace,
  Parameter,
  randn,
  SGD,
  mul,
  neg,
  permute,
  pow,
  relu,
  reshape,
  sigmoid,
  slice,
  softmax,
  sqrt,
  sub,
  sum,
  type Tensor,
  tanh,
  tensor,
  toCpu,
  toDevice,
  where,
} from '@heed/tensor';
import { expectClose } from '@heed/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { pair, Rng, testBackend } from '../test/test-backend';

// Every op on the GPU against the same op on the CPU, on random inputs whose sizes are not multiples of any
// tile (odd, prime, 1). Tolerances: float32 on both sides, the GPU summing in another order (trees, tiles).
const TOLERANCE = { atol: 1e-5, rtol: 1e-5 };
const SUM_TOLERANCE = { atol: 1e-4, rtol: 1e-5 }; // long sums and products

async function expectSame(gpu: Tensor, cpu: Tensor, tolerance = TOLERANCE, label = 'values'): Promise<void> {
  expect(gpu.device).toBe('webgpu');
  expect(gpu.shape).toEqual(cpu.shape);
  expectClose(await gpu.read(), cpu.data, tolerance, label);
}

beforeAll(async () => {
  await testBackend();
});

describe('WebGPU ops equal the CPU ops', () => {
  it('binary ops with broadcasting', async () => {
    const rng = new Rng(1);
    const [a, ga] = await pair([3, 1, 7], rng);
    const [b, gb] = await pair([5, 7], rng);
    for (const op of [add, sub, mul, div, maximum]) await expectSame(op(ga, gb), op(a, b), TOLERANCE, op.name);
    const [positive, gPositive] = [abs(a), abs(ga)];
    await expectSame(pow(gPositive, 1.7), pow(positive, 1.7), TOLERANCE, 'pow');
    await expectSame(pow(ga, 3), pow(a, 3), TOLERANCE, 'pow of negatives, integer exponent');
    await expectSame(mul(ga, 2.5), mul(a, 2.5), TOLERANCE, 'times a number');
    await expectSame(sub(1, gb), sub(1, b), TOLERANCE, 'a number minus');
  });

  it('unary ops, with infinities and large values', async () => {
    const values = [-200, -3.5, -1, -0.25, 0, 0.5, 2, 40, 90];
    const x = tensor(values);
    const gx = await toDevice(x, 'webgpu');
    for (const op of [neg, exp, tanh, sigmoid, relu, abs]) await expectSame(op(gx), op(x), TOLERANCE, op.name);
    const positive = tensor([0, 1e-30, 0.3, 1, 7, 1e20]);
    const gPositive = await toDevice(positive, 'webgpu');
    for (const op of [log, sqrt]) await expectSame(op(gPositive), op(positive), TOLERANCE, op.name);
  });

  it('matmul at odd sizes, every transpose, broadcast batches', async () => {
    const rng = new Rng(2);
    for (const [m, k, n] of [
      [1, 1, 1],
      [5, 3, 7],
      [67, 33, 65],
      [130, 17, 3],
    ] as const) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const [a, ga] = await pair(transposeA ? [2, k, m] : [2, m, k], rng);
          const [b, gb] = await pair(transposeB ? [n, k] : [k, n], rng);
          const options = { transposeA, transposeB };
          await expectSame(matmul(ga, gb, options), matmul(a, b, options), SUM_TOLERANCE, `${m}x${k}x${n} ${transposeA} ${transposeB}`);
        }
      }
    }
    const [a, ga] = await pair([3, 1, 9, 5], rng);
    const [b, gb] = await pair([4, 5, 6], rng);
    await expectSame(matmul(ga, gb), matmul(a, b), SUM_TOLERANCE, 'broadcast batch');
  });

  it('reductions along any axes, short and long rows', async () => {
    const rng = new Rng(3);
    const [x, gx] = await pair([3, 301, 5], rng);
    for (const axes of [0, 1, 2, [0, 2], undefined] as const) {
      await expectSame(sum(gx, axes), sum(x, axes), SUM_TOLERANCE, `sum ${axes}`);
      await expectSame(mean(gx, axes, true), mean(x, axes, true), TOLERANCE, `mean ${axes}`);
      await expectSame(max(gx, axes), max(x, axes), TOLERANCE, `max ${axes}`);
      await expectSame(min(gx, axes), min(x, axes), TOLERANCE, `min ${axes}`);
    }
  });

  it('max and min gradients go to the first tied position, none for a NaN slice (the CPU convention)', async () => {
    // [3, 4, 301] of values in {0, 1, 2}: many ties in every slice; one slice holds a NaN.
    const values = Float32Array.from({ length: 3 * 4 * 301 }, (_, i) => (i * 7919) % 3);
    values[5 * 301 + 17] = NaN;
    for (const op of [max, min]) {
      for (const axes of [1, 2, [0, 2], undefined] as const) {
        const cpu = tensor(values, [3, 4, 301], { requiresGrad: true });
        const gpu = await toDevice(cpu, 'webgpu');
        const out = op(cpu, axes);
        const upstream = tensor(
          Float32Array.from({ length: out.size }, (_, i) => i + 1),
          out.shape,
        );
        out.backward(upstream);
        op(gpu, axes).backward(await toDevice(upstream, 'webgpu'));
        expect(Array.from(await gpu.grad!.read()), `${op.name} ${axes}`).toEqual(Array.from(cpu.grad!.data));
      }
    }
  });

  it('softmax and logSoftmax along any axis, masked and overflowing rows included', async () => {
    const rng = new Rng(4);
    const [x, gx] = await pair([4, 131, 3], rng);
    for (const axis of [0, 1, 2]) {
      await expectSame(softmax(gx, axis), softmax(x, axis), TOLERANCE, `softmax ${axis}`);
      await expectSame(logSoftmax(gx, axis), logSoftmax(x, axis), TOLERANCE, `logSoftmax ${axis}`);
    }
    const edge = tensor([
      [-Infinity, -Infinity, -Infinity],
      [Infinity, 1, Infinity],
      [-Infinity, 1000, 999],
    ]);
    const gEdge = await toDevice(edge, 'webgpu');
    await expectSame(softmax(gEdge), softmax(edge), TOLERANCE, 'edge softmax');
    await expectSame(logSoftmax(gEdge), logSoftmax(edge), TOLERANCE, 'edge logSoftmax');
  });

  it('shape ops: permute, broadcastTo, slice, concat, reshape', async () => {
    const rng = new Rng(5);
    const [x, gx] = await pair([2, 3, 5, 7], rng);
    await expectSame(permute(gx, [3, 1, 0, 2]), permute(x, [3, 1, 0, 2]));
    await expectSame(broadcastTo(reshape(gx, [2, 3, 1, 5, 7]), [2, 3, 4, 5, 7]), broadcastTo(reshape(x, [2, 3, 1, 5, 7]), [2, 3, 4, 5, 7]));
    await expectSame(slice(gx, 2, 1, 4), slice(x, 2, 1, 4));
    const [y, gy] = await pair([2, 3, 2, 7], rng);
    await expectSame(concat([gx, gy], 2), concat([x, y], 2));
    expect(reshape(gx, [6, 35]).storage).toBe(gx.storage);
  });
});

describe('gradients on the GPU equal the CPU ones', () => {
  it('through elementwise, matmul, reductions, softmax and shape ops', async () => {
    const rng = new Rng(6);
    const [a, ga] = await pair([3, 5, 7], rng, true);
    const [b, gb] = await pair([7, 4], rng, true);
    const [c, gc] = await pair([5, 1], rng, true);
    const loss = (a: Tensor, b: Tensor, c: Tensor) => {
      const h = tanh(add(matmul(a, b), c)); // [3, 5, 4]
      const s = logSoftmax(mul(h, sigmoid(h)), 1); // [3, 5, 4]
      const p = permute(concat([slice(s, 2, 0, 3), exp(slice(s, 2, 3))], 2), [2, 0, 1]); // [4, 3, 5]
      return add(mean(mul(p, p)), sum(maximum(relu(a), 0.1)));
    };
    const cpuLoss = loss(a, b, c);
    const gpuLoss = loss(ga, gb, gc);
    cpuLoss.backward();
    gpuLoss.backward();
    await expectSame(gpuLoss, cpuLoss, TOLERANCE, 'loss');
    for (const [gpu, cpu, name] of [
      [ga, a, 'a'],
      [gb, b, 'b'],
      [gc, c, 'c'],
    ] as const) {
      expect(gpu.grad!.device).toBe('webgpu');
      await expectSame(gpu.grad!, cpu.grad!, SUM_TOLERANCE, `grad ${name}`);
    }
  });

  it('where, its condition a host mask or a device tensor, with broadcasting', async () => {
    const rng = new Rng(8);
    const [a, ga] = await pair([3, 4], rng, true);
    const [b, gb] = await pair([4], rng, true);
    const condition = tensor([[1, 0, 1, 1]]); // [1, 4]
    const cpu = where(condition, a, b);
    const gpu = where(condition, ga, gb);
    await expectSame(gpu, cpu);
    await expectSame(where(await toDevice(condition, 'webgpu'), ga, -1), where(condition, a, -1), TOLERANCE, 'device condition');
    const g = randn([3, 4], rng);
    cpu.backward(g);
    gpu.backward(await toDevice(g, 'webgpu'));
    await expectSame(ga.grad!, a.grad!, TOLERANCE, 'grad a');
    await expectSame(gb.grad!, b.grad!, TOLERANCE, 'grad b');
  });
});

describe('optimizer steps on the GPU equal the CPU ones', () => {
  const optimizers = {
    'SGD, momentum, Nesterov, weight decay': (params: Parameter[]) =>
      new SGD(params, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
    'SGD, momentum, dampening': (params: Parameter[]) => new SGD(params, { lr: 0.1, momentum: 0.5, dampening: 0.3 }),
    'plain SGD': (params: Parameter[]) => new SGD(params, { lr: 0.2 }),
    'Adam, L2 weight decay': (params: Parameter[]) => new Adam(params, { lr: 0.05, weightDecay: 0.1 }),
    AdamW: (params: Parameter[]) => new Adam(params, { lr: 0.05, weightDecay: 0.1, decoupledWeightDecay: true, betas: [0.8, 0.99] }),
  };
  for (const [name, make] of Object.entries(optimizers)) {
    it(name, async () => {
      const rng = new Rng(7);
      const start = randn([3, 37], rng);
      const grads = [randn([3, 37], rng), randn([3, 37], rng), randn([3, 37], rng)];
      const cpu = Parameter.from(start);
      const gpu = Parameter.from(start);
      await moveInPlace(gpu, 'webgpu');
      const [cpuOptimizer, gpuOptimizer] = [make([cpu]), make([gpu])];
      for (const g of grads) {
        cpu.grad = g;
        gpu.grad = await toDevice(g, 'webgpu');
        cpuOptimizer.step();
        gpuOptimizer.step();
      }
      expect(gpu.device).toBe('webgpu');
      expectClose(await gpu.read(), cpu.data, TOLERANCE, name);
    });
  }
});

describe('optimizer state after steps on the GPU', () => {
  it('Adam and SGD: read from the GPU, moved back to the CPU with the parameters, CPU steps continue from it', async () => {
    const rng = new Rng(8);
    const start = randn([3, 37], rng);
    const grads = [randn([3, 37], rng), randn([3, 37], rng), randn([3, 37], rng), randn([3, 37], rng)];
    const [cpu, gpu] = [Parameter.from(start), Parameter.from(start)];
    await moveInPlace(gpu, 'webgpu');
    const make = (p: Parameter): [Adam, SGD] => [new Adam([p], { lr: 0.05 }), new SGD([p], { lr: 0.1, momentum: 0.9 })];
    const [[a, s], [b, t]] = [make(cpu), make(gpu)];
    for (const g of grads.slice(0, 3)) {
      cpu.grad = g;
      gpu.grad = await toDevice(g, 'webgpu');
      for (const optimizer of [a, s, b, t]) optimizer.step();
    }
    const [cpuState, gpuState] = [await a.stateOf(cpu), await b.stateOf(gpu)];
    expect(gpuState!.step).toBe(3);
    expectClose(gpuState!.m, cpuState!.m, TOLERANCE, 'm');
    expectClose(gpuState!.v, cpuState!.v, TOLERANCE, 'v');
    expectClose((await t.momentumBufferOf(gpu))!, (await s.momentumBufferOf(cpu))!, TOLERANCE, 'momentum buffer');
    await moveInPlace(gpu, 'cpu');
    cpu.grad = gpu.grad = grads[3]!;
    expect(() => b.step()).toThrow(/Adam.step: the state of a \[3, 37\] parameter on 'cpu' is on 'webgpu'/);
    await b.toDevice('cpu');
    await t.toDevice('cpu');
    for (const optimizer of [a, s, b, t]) optimizer.step();
    expectClose(gpu.data, cpu.data, TOLERANCE, 'parameter after a CPU step');
  });
});

describe('devices', () => {
  it('refuses synchronous reads and mixed devices, and moves back', async () => {
    const x = await toDevice(tensor([[1, 2, 3]]), 'webgpu');
    expect(() => x.data).toThrow(DeviceError);
    expect(() => x.item()).toThrow(
      /item\(\) reads values synchronously, but this \[1, 3\] tensor lives on 'webgpu': use `await t.read\(\)`/,
    );
    expect(() => add(x, tensor([[1, 2, 3]]))).toThrow(/add: a \[1, 3\] is on 'webgpu' but b \[1, 3\] is on 'cpu'/);
    expect((await toCpu(mul(x, 2))).toArray()).toEqual([[2, 4, 6]]);
  });
});
