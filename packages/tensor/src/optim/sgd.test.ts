import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ConfigError } from '../errors/config-error';
import { Parameter } from '../nn/parameter';
import { mul, sub } from '../ops/binary';
import { sum } from '../ops/reduce';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { SGD, type SgdOptions } from './sgd';

const TOL = { atol: 1e-6, rtol: 1e-5 };
const STEPS = 5;
const SHAPES = [[3, 4], [5]];

/**
 * PyTorch's SGD update (torch/optim/sgd.py, single-tensor path), in float64:
 *   d = g + wd·θ
 *   if μ ≠ 0: buf = (first step) ? d : μ·buf + (1 − τ)·d;  d = nesterov ? d + μ·buf : buf
 *   θ = θ − lr·d
 */
function torchSgd(theta: number[], grads: number[][], options: Required<SgdOptions>): number[][] {
  const { lr, momentum, dampening, weightDecay, nesterov } = options;
  const p = [...theta];
  let buf: number[] | null = null;
  const history: number[][] = [];
  for (const g of grads) {
    const d = g.map((gi, i) => gi + weightDecay * p[i]!);
    let update = d;
    if (momentum !== 0) {
      buf = buf === null ? [...d] : buf.map((b, i) => momentum * b + (1 - dampening) * d[i]!);
      update = nesterov ? d.map((di, i) => di + momentum * buf![i]!) : buf;
    }
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr * update[i]!;
    history.push([...p]);
  }
  return history;
}

/** Parameters and a fixed gradient per step and parameter, all from one seed. */
function setup(seed: number): { params: Parameter[]; grads: Tensor[][] } {
  const rng = new Rng(seed);
  const params = SHAPES.map((s) => Parameter.from(randn(s, rng)));
  const grads = Array.from({ length: STEPS }, () => SHAPES.map((s) => randn(s, rng)));
  return { params, grads };
}

const CONFIGS: Required<SgdOptions>[] = [
  { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
  { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
  { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0, nesterov: false },
  { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true },
  { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0.1, nesterov: false },
  { lr: 0.02, momentum: 0.8, dampening: 0, weightDecay: 0.05, nesterov: true },
];

describe('SGD', () => {
  test.each(CONFIGS)('matches PyTorch over 5 steps: %j', (config) => {
    const { params, grads } = setup(1);
    const expected = params.map((p, k) =>
      torchSgd(
        Array.from(p.data),
        grads.map((step) => Array.from(step[k]!.data)),
        config,
      ),
    );
    const optimizer = new SGD(params, config);
    for (let step = 0; step < STEPS; step++) {
      params.forEach((p, k) => (p.grad = grads[step]![k]!.clone()));
      optimizer.step();
      params.forEach((p, k) => expectClose(p.data, expected[k]![step]!, TOL, `step ${step + 1}, param ${k}`));
    }
  });

  test('hand example: one plain step θ − lr·g', () => {
    const p = Parameter.from(tensor([1, -2]));
    p.grad = tensor([0.5, 4]);
    new SGD([p], { lr: 0.1 }).step();
    expectClose(p.data, [0.95, -2.4], { atol: 1e-7, rtol: 0 });
  });

  test('parameters without a gradient are skipped; momentum starts at their first gradient', () => {
    const { params, grads } = setup(2);
    const [a, b] = params as [Parameter, Parameter];
    const b0 = Array.from(b.data);
    const config = { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false };
    const optimizer = new SGD(params, config);
    a.grad = grads[0]![0]!.clone();
    optimizer.step(); // b has no gradient yet
    expect(Array.from(b.data)).toEqual(b0);
    const expectedB = torchSgd(b0, [Array.from(grads[1]![1]!.data), Array.from(grads[2]![1]!.data)], config);
    for (const step of [1, 2]) {
      a.grad = grads[step]![0]!.clone();
      b.grad = grads[step]![1]!.clone();
      optimizer.step();
    }
    expectClose(b.data, expectedB[1]!, TOL);
  });

  test('zeroGrad clears the gradients; a real backward drives a quadratic to its minimum', () => {
    const w = Parameter.from(tensor([3, -1, 0.5]));
    const target = tensor([1, 2, -1]);
    const optimizer = new SGD([w], { lr: 0.1, momentum: 0.5 });
    for (let i = 0; i < 100; i++) {
      optimizer.zeroGrad();
      expect(w.grad).toBeNull();
      const d = sub(w, target);
      sum(mul(d, d)).backward();
      optimizer.step();
    }
    expectClose(w.data, [1, 2, -1], { atol: 1e-4, rtol: 0 });
  });

  test('bad hyperparameters are ConfigErrors in the constructor', () => {
    const p = [Parameter.from(tensor([1]))];
    for (const [options, argument] of [
      [{ lr: -0.1 }, 'lr'],
      [{ lr: NaN }, 'lr'],
      [{ lr: Infinity }, 'lr'],
      [{ lr: 0.1, momentum: -0.5 }, 'momentum'],
      [{ lr: 0.1, dampening: -1 }, 'dampening'],
      [{ lr: 0.1, weightDecay: -1e-4 }, 'weightDecay'],
    ] as [SgdOptions, string][]) {
      const error = expectThrows(() => new SGD(p, options), ConfigError);
      expect(error.op).toBe('SGD');
      expect(error.argument).toBe(argument);
      expect(error.message).toContain(argument);
    }
    expect(expectThrows(() => new SGD([], { lr: 0.1 }), ConfigError).argument).toBe('params');
  });

  test('nesterov needs momentum > 0 and zero dampening (as PyTorch)', () => {
    const p = [Parameter.from(tensor([1]))];
    for (const options of [
      { lr: 0.1, nesterov: true },
      { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 },
    ]) {
      const error = expectThrows(() => new SGD(p, options), ConfigError);
      expect(error.op).toBe('SGD');
      expect(error.argument).toBe('nesterov');
    }
    expect(() => new SGD(p, { lr: 0.1, nesterov: true, momentum: 0.9 })).not.toThrow();
  });
});
