import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randn, tensor } from '../creation';
import { moveInPlace, toCpu, toDevice } from '../device/to-device';
import { listDevices, registerDevice, unregisterDevice } from '../device/device-registry';
import { ArgumentError } from '../errors/argument-error';
import { DeviceError } from '../errors/device-error';
import { Linear } from '../nn/linear';
import { Parameter } from '../nn/parameter';
import { clipGradNorm } from '../optim/clip-grad-norm';
import { clipGradNormAsync } from '../optim/clip-grad-norm-async';
import { embedding, gather } from '../ops/gather';
import type { Optimizer } from '../optim/optimizer';
import { attentionWeights } from '../ops/attention-weights';
import { abs, exp, log, neg, relu, sigmoid, sqrt, tanh } from '../ops/unary';
import { add, div, maximum, mul, pow, sub } from '../ops/binary';
import { broadcastTo } from '../ops/broadcast-to';
import { concat } from '../ops/concat';
import { crossEntropy, mseLoss } from '../ops/losses';
import { linear } from '../ops/linear';
import { matmul } from '../ops/matmul';
import { permute, transpose } from '../ops/permute';
import { max, mean, min, sum } from '../ops/reduce';
import { reshape } from '../ops/reshape';
import { scaledDotProductAttention, scaledDotProductAttentionWithLogSumExp } from '../ops/scaled-dot-product-attention';
import { slice, split } from '../ops/slice';
import { logSoftmax, softmax } from '../ops/softmax';
import { sumToShape } from '../ops/sum-to-shape';
import { maskedFill, where } from '../ops/where';
import { Adam } from '../optim/adam';
import { SGD } from '../optim/sgd';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import { expectClose } from './expect-close';
import { createHostDeviceBackend } from './host-device-backend';

// Every op on the host device against the same op on the CPU: forward values, and the gradients of a fixed
// random projection of the outputs (sum(out ⊙ w)) with respect to every input that requires them.

const host = createHostDeviceBackend('host-ref');
beforeAll(() => registerDevice(host));
afterAll(() => unregisterDevice('host-ref'));

const rng = new Rng(7);
const tol = { atol: 2e-5, rtol: 2e-4 };

/** A random input [shape]; `positive`: values in [0.5, 1.5) (for log, sqrt, pow bases). */
function input(shape: number[], { positive = false, grad = true } = {}): Tensor {
  const t = randn(shape, rng);
  const data = positive ? t.data.map((v) => 0.5 + Math.abs(v) / 4) : t.data;
  return new Tensor(data, shape, grad);
}

type Op = (...xs: Tensor[]) => Tensor | readonly Tensor[];

/** Runs `op` on CPU inputs and on their copies on the host device; expects equal outputs and input gradients. */
async function expectSameOnDevice(op: Op, inputs: readonly Tensor[]): Promise<void> {
  const outputs = (xs: readonly Tensor[]) => {
    const out = op(...xs);
    return out instanceof Tensor ? [out] : out;
  };
  const cpuInputs = inputs.map((x) => new Tensor(x.data.slice(), x.shape, x.requiresGrad));
  const cpuOut = outputs(cpuInputs);
  const weights = cpuOut.map((o) => randn(o.shape, rng));
  const differentiable = cpuOut.some((o) => o.requiresGrad);
  if (differentiable) projection(cpuOut, weights).backward();

  const deviceInputs = await Promise.all(cpuInputs.map((x) => toDevice(new Tensor(x.data.slice(), x.shape, x.requiresGrad), 'host-ref')));
  const deviceOut = outputs(deviceInputs);
  for (const o of deviceOut) expect(o.device).toBe('host-ref');
  if (differentiable) projection(deviceOut, await Promise.all(weights.map((w) => toDevice(w, 'host-ref')))).backward();

  for (let i = 0; i < cpuOut.length; i++) {
    expect(deviceOut[i]!.shape).toEqual(cpuOut[i]!.shape);
    expectClose(await deviceOut[i]!.read(), cpuOut[i]!.data, tol, `output ${i}`);
  }
  for (let i = 0; i < cpuInputs.length; i++) {
    const [c, d] = [cpuInputs[i]!, deviceInputs[i]!];
    expect(Array.from(await d.read()), `input ${i} is left unchanged`).toEqual(Array.from(inputs[i]!.data));
    if (!c.requiresGrad || c.grad === null) {
      expect(d.grad).toBeNull();
      continue;
    }
    expect(d.grad!.device).toBe('host-ref');
    expectClose(await d.grad!.read(), c.grad.data, tol, `gradient of input ${i}`);
  }
}

/** Expects `fn` to throw a DeviceError of `op` whose message includes `text`. */
function expectDeviceError(fn: () => unknown, op: string, text = ''): void {
  let error: unknown = null;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DeviceError);
  expect((error as DeviceError).op).toBe(op);
  expect((error as DeviceError).message).toContain(text);
}

/** Σ_o sum(out_o ⊙ w_o) over the outputs that carry gradients. */
function projection(outs: readonly Tensor[], weights: readonly Tensor[]): Tensor {
  let total: Tensor | null = null;
  for (let i = 0; i < outs.length; i++) {
    if (!outs[i]!.requiresGrad) continue;
    const term = sum(mul(outs[i]!, weights[i]!));
    total = total === null ? term : add(total, term);
  }
  return total!;
}

describe('createHostDeviceBackend: elementwise ops', () => {
  it.each([
    ['add', add],
    ['sub', sub],
    ['mul', mul],
    ['div', div],
    ['maximum', maximum],
  ] as const)('%s with broadcasting matches the CPU', async (_, op) => {
    await expectSameOnDevice(op, [input([2, 3, 4]), input([3, 1])]);
    await expectSameOnDevice(op, [input([4]), input([2, 1, 4])]);
  });

  it('pow, a number argument (a portable scalar) and a rank-0 device tensor match the CPU', async () => {
    await expectSameOnDevice(pow, [input([2, 3], { positive: true }), input([3])]);
    await expectSameOnDevice((x) => mul(add(x, 2), -0.5), [input([2, 3])]);
    await expectSameOnDevice((x, s) => div(x, s), [input([2, 3]), input([], { positive: true })]);
  });

  it.each([
    ['neg', neg],
    ['exp', exp],
    ['tanh', tanh],
    ['sigmoid', sigmoid],
    ['relu', relu],
    ['abs', abs],
  ] as const)('%s matches the CPU', async (_, op) => {
    await expectSameOnDevice(op, [input([3, 5])]);
  });

  it.each([
    ['log', log],
    ['sqrt', sqrt],
  ] as const)('%s matches the CPU', async (_, op) => {
    await expectSameOnDevice(op, [input([3, 5], { positive: true })]);
  });
});

describe('createHostDeviceBackend: reductions and softmax', () => {
  it.each([
    ['sum', sum],
    ['mean', mean],
    ['max', max],
    ['min', min],
  ] as const)('%s over all axes, one axis, several axes, keepDims', async (_, op) => {
    const x = input([2, 3, 4]);
    await expectSameOnDevice((t) => op(t), [x]);
    await expectSameOnDevice((t) => op(t, 1), [x]);
    await expectSameOnDevice((t) => op(t, -1, true), [x]);
    await expectSameOnDevice((t) => op(t, [0, 2]), [x]);
  });

  it('max and min give the gradient to the first tied position on a device, as the CPU', async () => {
    for (const [op, expected] of [
      [max, [0, 2, 0, 4, 0, 0]], // row maxima 3 (at 1 and 2) and 0; g = [2, 4]
      [min, [2, 0, 0, 0, 4, 0]], // row minima 1 and −2 (at 4 and 5)
    ] as const) {
      const x = await toDevice(new Tensor(new Float32Array([1, 3, 3, 0, -2, -2]), [2, 3], true), 'host-ref');
      op(x, 1).backward(await toDevice(tensor([2, 4]), 'host-ref'));
      expect(Array.from(await x.grad!.read())).toEqual(expected);
    }
    // Ties over several reduced axes ([0, 2] of [2, 2, 3]): first in row-major order over them; a NaN slice: no gradient.
    const values = [5, 1, 5, 0, 7, 7, 5, 2, 1, NaN, 7, 0]; // slice j = 0: {5, 1, 5, 5, 2, 1}, j = 1: {0, 7, 7, NaN, 7, 0}
    const cpu = new Tensor(new Float32Array(values), [2, 2, 3], true);
    const device = await toDevice(cpu, 'host-ref');
    max(cpu, [0, 2]).backward(tensor([3, 5]));
    max(device, [0, 2]).backward(await toDevice(tensor([3, 5]), 'host-ref'));
    expect(Array.from(cpu.grad!.data)).toEqual([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(await device.grad!.read())).toEqual(Array.from(cpu.grad!.data));
  });

  it('max and min refuse, at the call, a gradient over device slices of more than 2^24 elements', async () => {
    const x = await toDevice(new Tensor(new Float32Array(2 ** 24 + 1), [2 ** 24 + 1], true), 'host-ref');
    expect(() => max(x)).toThrow(DeviceError);
    expect(() => min(x, 0)).toThrow(/min over axes \[0\] of x \[16777217\] on 'host-ref' takes slices of more than 2\^24 elements/);
    expect(Array.from(await max(x.detach()).read())).toEqual([0]); // without a gradient: fine
  });

  it('softmax and logSoftmax along each axis', async () => {
    for (const axis of [0, 1, -1]) {
      await expectSameOnDevice((t) => softmax(t, axis), [input([2, 3, 4])]);
      await expectSameOnDevice((t) => logSoftmax(t, axis), [input([2, 3, 4])]);
    }
  });

  it('logSoftmax of a row with −∞ entries keeps −∞ where the CPU does', async () => {
    const x = new Tensor(new Float32Array([0, -Infinity, 1, 2, 3, -Infinity]), [2, 3]);
    const [cpu, device] = [logSoftmax(x), logSoftmax(await toDevice(x, 'host-ref'))];
    expect(Array.from(await device.read())).toEqual(Array.from(cpu.data));
  });

  it('sumToShape reduces a broadcast gradient', async () => {
    await expectSameOnDevice((g) => sumToShape(g, [3, 1]), [input([2, 3, 4])]);
  });
});

describe('createHostDeviceBackend: matmul and linear', () => {
  it('plain, transposed and batched (broadcast batch dims) products', async () => {
    await expectSameOnDevice((a, b) => matmul(a, b), [input([3, 4]), input([4, 5])]);
    await expectSameOnDevice((a, b) => matmul(a, b, { transposeA: true }), [input([4, 3]), input([4, 5])]);
    await expectSameOnDevice((a, b) => matmul(a, b, { transposeB: true }), [input([3, 4]), input([5, 4])]);
    await expectSameOnDevice((a, b) => matmul(a, b, { transposeA: true, transposeB: true }), [input([2, 4, 3]), input([2, 5, 4])]);
    await expectSameOnDevice((a, b) => matmul(a, b), [input([2, 1, 3, 4]), input([3, 4, 2])]);
    await expectSameOnDevice((a, b) => matmul(a, b), [input([3, 4]), input([2, 4, 5])]);
  });

  it('linear with and without bias', async () => {
    await expectSameOnDevice(linear, [input([2, 3, 4]), input([5, 4]), input([5])]);
    await expectSameOnDevice((x, w) => linear(x, w), [input([3, 4]), input([5, 4])]);
  });
});

describe('createHostDeviceBackend: shape ops', () => {
  it('concat, slice, split, permute, transpose, broadcastTo, reshape', async () => {
    await expectSameOnDevice((a, b, c) => concat([a, b, c], 1), [input([2, 1, 3]), input([2, 4, 3]), input([2, 2, 3])]);
    await expectSameOnDevice((a, b) => concat([a, b], -1), [input([2, 3]), input([2, 1])]);
    await expectSameOnDevice((x) => slice(x, 1, 1, 3), [input([2, 4, 3])]);
    await expectSameOnDevice((x) => slice(x, -1, 2), [input([2, 4, 3])]);
    await expectSameOnDevice((x) => split(x, [1, 3], 1), [input([2, 4, 3])]);
    await expectSameOnDevice((x) => permute(x, [2, 0, 1]), [input([2, 3, 4])]);
    await expectSameOnDevice((x) => transpose(x), [input([2, 3, 4])]);
    await expectSameOnDevice((x) => broadcastTo(x, [2, 3, 4]), [input([3, 1])]);
    await expectSameOnDevice((x) => reshape(x, [4, 6]), [input([2, 3, 4])]);
  });

  it('where and maskedFill with a broadcast condition', async () => {
    const condition = new Tensor(new Float32Array([1, 0, 1]), [3]);
    await expectSameOnDevice((c, a, b) => where(c, a, b), [condition, input([2, 3]), input([2, 1])]);
    await expectSameOnDevice((c, a) => where(c, a, 0.5), [condition, input([2, 3])]);
    await expectSameOnDevice((x, m) => maskedFill(x, m, -3), [input([2, 3]), condition]);
    // a condition in host memory (as masks are built) with device operands
    await expectSameOnDevice((a, b) => where(condition, a, b), [input([2, 3]), input([2, 3])]);
    // a condition on the device, and a number for a
    await expectSameOnDevice((c, b) => where(c, 2, b), [new Tensor(new Float32Array([0, 1, 1, 0, 0, 1]), [2, 3]), input([3])]);
  });
});

describe('createHostDeviceBackend: gather and embedding', () => {
  it('gather along an axis and embedding with repeated rows (the gradient sums)', async () => {
    const index = new Tensor(new Float32Array([2, 0, 0, 1, 1, 1]), [2, 3]); // host indices
    await expectSameOnDevice((x) => gather(x, 1, index), [input([2, 4])]);
    await expectSameOnDevice((x) => gather(x, 0, new Tensor(new Float32Array([1, 0, 1]), [1, 3])), [input([2, 3])]);
    await expectSameOnDevice((w) => embedding(w, [2, 0, 2, 3]), [input([4, 3])]);
    await expectSameOnDevice((w) => embedding(w, new Tensor(new Float32Array([1, 1, 0, 2]), [2, 2])), [input([3, 5])]);
  });
});

describe('createHostDeviceBackend: losses', () => {
  it('crossEntropy (host targets) and mseLoss', async () => {
    await expectSameOnDevice((logits) => crossEntropy(logits, [2, 0, 1]), [input([3, 4])]);
    await expectSameOnDevice((logits) => crossEntropy(logits, tensor([1, 3])), [input([2, 4])]);
    await expectSameOnDevice(mseLoss, [input([2, 3]), input([2, 3])]);
  });
});

describe('createHostDeviceBackend: attention', () => {
  const mask = () => new Tensor(new Float32Array([1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1]), [3, 4]);
  it.each([
    ['plain', {}],
    ['causal', { causal: true }],
    ['causal with an offset and a window', { causal: { offset: 1 }, windowStart: -1 }],
    ['an attention mask with a fully masked row', { attentionMask: mask() }],
    ['a scale', { scale: 0.3 }],
    ['ALiBi', { alibiSlopes: [0.5, 0.25] }],
    ['a soft-cap', { softcap: 2 }],
    ['segments', { querySegments: new Int32Array([0, 0, 1, 0, 1, 1]), keySegments: new Int32Array([0, 1, 1, 1, 0, 0, 1, 1]) }],
  ] as const)('scaledDotProductAttention and attentionWeights: %s', async (_, options) => {
    const inputs = [input([2, 2, 3, 5]), input([2, 2, 4, 5]), input([2, 2, 4, 3])];
    await expectSameOnDevice((q, k, v) => scaledDotProductAttention(q, k, v, options), inputs);
    await expectSameOnDevice((q, k, v) => {
      const { output, logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, options);
      return [output, logSumExp, attentionWeights(q, k, logSumExp, { ...options, rows: [2, 0] })];
    }, inputs);
  });

  it('grouped-query attention (groupSize 2) and the sequence-first layout', async () => {
    await expectSameOnDevice(
      (q, k, v) => scaledDotProductAttention(q, k, v, { groupSize: 2 }),
      [input([2, 4, 3, 5]), input([2, 2, 4, 5]), input([2, 2, 4, 3])],
    );
    await expectSameOnDevice(
      (q, k, v) => {
        const options = { groupSize: 2, layout: 'sequence-first', causal: true } as const;
        const { output, logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, options);
        return [output, attentionWeights(q, k, logSumExp, options)];
      },
      [input([2, 3, 4, 5]), input([2, 4, 2, 5]), input([2, 4, 2, 3])],
    );
  });

  it('the learned positionBias and sinks on the device, with their gradients', async () => {
    const inputs = () => [input([2, 2, 3, 5]), input([2, 2, 4, 5]), input([2, 2, 4, 3]), input([2, 6]), input([2])];
    await expectSameOnDevice((q, k, v, positionBias, sinks) => scaledDotProductAttention(q, k, v, { positionBias, sinks }), inputs());
    await expectSameOnDevice((q, k, v, positionBias, sinks) => {
      const options = { positionBias, sinks, causal: true };
      const { output, logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, options);
      return [output, attentionWeights(q, k, logSumExp, { ...options, rows: [0, 2] })];
    }, inputs());
    await expectSameOnDevice(
      (q, k, v, positionBias) => scaledDotProductAttention(q, k, v, { positionBias, softcap: 3 }),
      inputs().slice(0, 4),
    );
  });

  it('gradients only for the inputs that require them', async () => {
    const inputs = (grads: readonly boolean[]) =>
      [input([2, 3, 5]), input([2, 4, 5]), input([2, 4, 3])].map((t, i) => new Tensor(t.data, t.shape, grads[i]!));
    for (const grads of [
      [true, false, false],
      [false, true, true],
    ]) {
      await expectSameOnDevice((q, k, v) => scaledDotProductAttention(q, k, v, { causal: true }), inputs(grads));
      await expectSameOnDevice((q, k, v) => {
        const { logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v);
        return attentionWeights(q, k, logSumExp, { rows: [1] });
      }, inputs(grads));
    }
  });

  it('refuses the variants a device does not read, naming the variant', async () => {
    const bare = createHostDeviceBackend('host-bare', []);
    registerDevice(bare);
    try {
      const [q, k, v] = await Promise.all([input([1, 2, 3]), input([1, 2, 3]), input([1, 2, 3])].map((t) => toDevice(t, 'host-bare')));
      expectDeviceError(() => scaledDotProductAttention(q!, k!, v!, { softcap: 2 }), 'scaledDotProductAttention', 'softcap');
      const sinks = new Tensor(new Float32Array([0.5]), [1], true);
      expectDeviceError(() => scaledDotProductAttention(q!, k!, v!, { sinks }), 'scaledDotProductAttention', 'sinks');
    } finally {
      unregisterDevice('host-bare');
    }
  });
});

describe('createHostDeviceBackend: optimizers', () => {
  /** Three steps of `make(params)` on a CPU Linear and on its copy moved to the device; the weights must agree. */
  async function expectSameSteps(make: (params: Parameter[]) => Optimizer) {
    const cpu = new Linear(4, 3, { rng: new Rng(3) });
    const device = new Linear(4, 3, { rng: new Rng(3) });
    await device.toDevice('host-ref');
    const [cpuOptimizer, deviceOptimizer] = [make(cpu.parameters()), make(device.parameters())];
    const x = input([5, 4], { grad: false });
    const xDevice = await toDevice(x, 'host-ref');
    for (let step = 0; step < 3; step++) {
      cpuOptimizer.zeroGrad();
      deviceOptimizer.zeroGrad();
      sum(mul(cpu.forward(x), cpu.forward(x))).backward();
      sum(mul(device.forward(xDevice), device.forward(xDevice))).backward();
      cpuOptimizer.step();
      deviceOptimizer.step();
    }
    const [cpuParams, deviceParams] = [cpu.parameters(), device.parameters()];
    for (let i = 0; i < cpuParams.length; i++) {
      expect(deviceParams[i]!.device).toBe('host-ref');
      expectClose(await deviceParams[i]!.read(), cpuParams[i]!.data, tol, `parameter ${i}`);
    }
  }

  it.each([
    ['SGD', { lr: 0.1 }],
    ['SGD with momentum and weight decay', { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }],
    ['SGD with Nesterov momentum', { lr: 0.1, momentum: 0.9, nesterov: true }],
  ] as const)('%s', async (_, options) => {
    await expectSameSteps((params) => new SGD(params, options));
  });

  it.each([
    ['Adam', { lr: 0.01 }],
    ['Adam with weight decay', { lr: 0.01, weightDecay: 0.1 }],
    ['AdamW', { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true }],
  ] as const)('%s', async (_, options) => {
    await expectSameSteps((params) => new Adam(params, options));
  });

  it('a step after moving the parameters there continues from the CPU state', async () => {
    const cpu = new Linear(2, 2, { rng: new Rng(5) });
    const moved = new Linear(2, 2, { rng: new Rng(5) });
    const [a, b] = [new Adam(cpu.parameters(), { lr: 0.1 }), new Adam(moved.parameters(), { lr: 0.1 })];
    const [s, t] = [new SGD(cpu.parameters(), { lr: 0.1, momentum: 0.5 }), new SGD(moved.parameters(), { lr: 0.1, momentum: 0.5 })];
    const x = input([3, 2], { grad: false });
    const run = async (model: Linear, xs: Tensor, adam: Adam, sgd: SGD) => {
      adam.zeroGrad();
      sum(model.forward(xs)).backward();
      adam.step();
      sgd.step();
    };
    await run(cpu, x, a, s);
    await run(moved, x, b, t);
    await moved.toDevice('host-ref');
    await run(cpu, x, a, s);
    await run(moved, await toDevice(x, 'host-ref'), b, t);
    for (let i = 0; i < 2; i++) expectClose(await moved.parameters()[i]!.read(), cpu.parameters()[i]!.data, tol, `parameter ${i}`);
  });

  it('the state of steps on the device is read from there, refused stale on the CPU, and moved back by toDevice', async () => {
    const cpu = new Linear(3, 2, { rng: new Rng(9) });
    const moved = new Linear(3, 2, { rng: new Rng(9) });
    const make = (model: Linear): [Adam, SGD] => [
      new Adam(model.parameters(), { lr: 0.1 }),
      new SGD(model.parameters(), { lr: 0.1, momentum: 0.5 }),
    ];
    const [[a, s], [b, t]] = [make(cpu), make(moved)];
    const x = input([4, 3], { grad: false });
    const xDevice = await toDevice(x, 'host-ref');
    const backward = (model: Linear, xs: Tensor) => {
      for (const p of model.parameters()) p.grad = null;
      sum(mul(model.forward(xs), model.forward(xs))).backward();
    };
    const steps = (model: Linear, xs: Tensor, adam: Adam, sgd: SGD) => {
      backward(model, xs);
      adam.step();
      sgd.step();
    };
    steps(cpu, x, a, s);
    steps(moved, x, b, t); // a first step on the CPU: host state, uploaded at the next step
    await moved.toDevice('host-ref');
    for (let step = 0; step < 3; step++) {
      steps(cpu, x, a, s);
      steps(moved, xDevice, b, t);
    }
    const weight = (model: Linear) => model.parameters()[0]!;
    // Read while the moments live on the device: the device's values, not the host copy of before the move.
    const [cpuState, deviceState] = [await a.stateOf(weight(cpu)), await b.stateOf(weight(moved))];
    expect(deviceState!.step).toBe(cpuState!.step);
    expectClose(deviceState!.m, cpuState!.m, tol, 'm');
    expectClose(deviceState!.v, cpuState!.v, tol, 'v');
    expectClose((await t.momentumBufferOf(weight(moved)))!, (await s.momentumBufferOf(weight(cpu)))!, tol, 'momentum buffer');
    // Back on the CPU: a step with the moments still on the device is refused and changes nothing.
    await moved.toDevice('cpu');
    backward(moved, x);
    const before = weight(moved).data.slice();
    expect(() => b.step()).toThrow(DeviceError);
    expect(() => b.step()).toThrow(/Adam.step: the state of a \[2, 3\] parameter on 'cpu' is on 'host-ref', where its last steps ran/);
    expect(() => t.step()).toThrow(/`await optimizer.toDevice\('cpu'\)`/);
    expect(Array.from(weight(moved).data)).toEqual(Array.from(before));
    // Moved with the parameters, the CPU steps continue from the device's moments.
    await b.toDevice('cpu');
    await t.toDevice('cpu');
    steps(cpu, x, a, s);
    b.step();
    t.step();
    for (let i = 0; i < 2; i++) expectClose(moved.parameters()[i]!.data, cpu.parameters()[i]!.data, tol, `parameter ${i}`);
  });

  it('clipGradNormAsync clips gradients on the device as clipGradNorm does on the CPU', async () => {
    for (const maxNorm of [0.5, 100]) {
      const cpu = [input([3, 4]), input([5])].map((t) => Parameter.from(t));
      cpu.forEach((p) => {
        p.grad = input([...p.shape], { grad: false });
      });
      const device = cpu.map((p) => Parameter.from(new Tensor(p.data.slice(), p.shape)));
      for (let i = 0; i < cpu.length; i++) {
        await moveInPlace(device[i]!, 'host-ref');
        device[i]!.grad = await toDevice(cpu[i]!.grad!, 'host-ref');
      }
      const [expected, actual] = [clipGradNorm(cpu, maxNorm), await clipGradNormAsync(device, maxNorm)];
      expectClose([actual], [expected], tol, 'norm');
      for (let i = 0; i < cpu.length; i++) {
        expect(device[i]!.grad!.device).toBe('host-ref');
        expectClose(await device[i]!.grad!.read(), cpu[i]!.grad!.data, tol, `gradient ${i}`);
      }
    }
  });

  it('a gradient on another device than its parameter is refused at step', async () => {
    const model = new Linear(2, 2, { rng: new Rng(1) });
    await model.toDevice('host-ref');
    const [weight] = model.parameters();
    weight!.grad = new Tensor(new Float32Array(4), [2, 2]);
    expectDeviceError(() => new SGD(model.parameters(), { lr: 0.1 }).step(), 'SGD.step', 'gradient');
    expectDeviceError(() => new Adam(model.parameters(), { lr: 0.1 }).step(), 'Adam.step', 'gradient');
  });
});

describe('createHostDeviceBackend: device errors and moves', () => {
  it('a synchronous read of device data is a DeviceError naming the call', async () => {
    const t = await toDevice(tensor([[1, 2]]), 'host-ref');
    expectDeviceError(() => t.data, 'data', 'host-ref');
    expectDeviceError(() => t.item(), 'item()', 'item()');
    expectDeviceError(() => t.toArray(), 'toArray()', 'toArray()');
    expect(String(t)).toContain('on host-ref');
    expect(Array.from(await t.clone().read())).toEqual([1, 2]);
    expect(t.detach().device).toBe('host-ref');
  });

  it('tensors of two devices in one op are a DeviceError naming both', async () => {
    const onDevice = await toDevice(input([2, 3]), 'host-ref');
    expectDeviceError(() => add(onDevice, input([2, 3])), 'add', "on 'host-ref'");
    expectDeviceError(() => matmul(input([3, 2]), onDevice), 'matmul', "on 'cpu'");
    expectDeviceError(() => concat([onDevice, input([2, 3])]), 'concat', 'toDevice');
    expectDeviceError(() => where(tensor([1, 0, 1]), onDevice, input([2, 3])), 'where', 'host-ref');
    expectDeviceError(() => sum(onDevice).backward(tensor(1)), 'backward', 'grad');
    // a rank-0 CPU tensor goes along with a device tensor only when it tracks no gradient
    expect(mul(onDevice, tensor(2)).device).toBe('host-ref');
    expectDeviceError(() => mul(onDevice, new Tensor(new Float32Array([2]), [], true)), 'mul', "on 'cpu'");
  });

  it('tensors of two devices other than the CPU are a DeviceError too', async () => {
    registerDevice(createHostDeviceBackend('host-two'));
    try {
      const [a, b] = [await toDevice(input([2]), 'host-ref'), await toDevice(input([2]), 'host-two')];
      expectDeviceError(() => sub(a, b), 'sub', "on 'host-two'");
    } finally {
      unregisterDevice('host-two');
    }
  });

  it('gradients accumulate over backward calls on the device, and many number arguments stay correct', async () => {
    const x = await toDevice(new Tensor(new Float32Array([1, -2, 3]), [3], true), 'host-ref');
    sum(mul(x, x)).backward(); // 2x
    sum(mul(x, 3)).backward(); // + 3
    expect(Array.from(await x.grad!.read())).toEqual([5, -1, 9]);
    let total = await toDevice(tensor([0, 0, 0]), 'host-ref');
    for (let i = 0; i < 1100; i++) total = add(total, mul(x, i % 2 === 0 ? i : -i)); // Σ ±i = −550
    expect(Array.from(await total.read())).toEqual([-550, 1100, -1650]);
  });

  it('an unknown device name is a DeviceError listing the devices', async () => {
    await expect(toDevice(tensor([1]), 'nowhere')).rejects.toBeInstanceOf(DeviceError);
    expect(listDevices()).toContain('host-ref');
  });

  it('toDevice, toCpu and Module.toDevice keep values, gradients flags and Parameter identity', async () => {
    const x = new Tensor(new Float32Array([1, 2, 3]), [3], true);
    const moved = await toDevice(x, 'host-ref');
    expect([moved.device, moved.requiresGrad]).toEqual(['host-ref', true]);
    expect(await toDevice(moved, 'host-ref')).toBe(moved);
    const back = await toCpu(moved);
    expect(Array.from(back.data)).toEqual([1, 2, 3]);

    const model = new Linear(3, 2, { rng: new Rng(2) });
    const before = model.parameters();
    sum(model.forward(tensor([[1, 2, 3]]))).backward();
    await model.toDevice('host-ref');
    const after = model.parameters();
    expect(after.every((p, i) => p === before[i] && p.device === 'host-ref' && p.grad!.device === 'host-ref')).toBe(true);
    await moveInPlace(after[0]!, 'cpu');
    expect(after[0]!.device).toBe('cpu');
    expect(after[0]!.grad!.device).toBe('cpu');
  });

  it('registerDevice refuses what is not a backend, and the name cpu', () => {
    for (const backend of [null, { ...host, name: 'cpu' }, { ...host, name: '' }]) {
      let error: unknown = null;
      try {
        registerDevice(backend as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ArgumentError);
    }
    expect(listDevices()).not.toContain('');
  });

  it('gathers and scatter-adds by flat positions', async () => {
    const backend = createHostDeviceBackend('host-gather');
    const x = backend.upload(new Float32Array([10, 20, 30]));
    const source = new Int32Array([2, 0, 2, 1]);
    expect(Array.from(await backend.read(backend.gather(x, source)))).toEqual([30, 10, 30, 20]);
    const g = backend.upload(new Float32Array([1, 2, 3, 4]));
    expect(Array.from(await backend.read(backend.scatterAdd(g, source, 3)))).toEqual([2, 4, 4]);
  });

  it('counts the storages it makes and takes back', async () => {
    const backend = createHostDeviceBackend('host-count');
    const storage = backend.upload(new Float32Array([1, 2]));
    expect([backend.allocated, backend.released]).toEqual([1, 0]);
    backend.release!(storage);
    expect(backend.released).toBe(1);
    expect(() => backend.release!(host.fill(1, 0))).toThrow(/host-count/);
  });
});
