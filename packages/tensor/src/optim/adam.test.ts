import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ConfigError } from '../errors/config-error';
import { Parameter } from '../nn/parameter';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { Adam, type AdamOptions } from './adam';

const TOL = { atol: 1e-6, rtol: 1e-5 };
const STEPS = 5;
const SHAPES = [[3, 4], [5]];

interface TorchAdamConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  decoupled: boolean;
}

/**
 * PyTorch's Adam / AdamW update (torch/optim/adam.py and adamw.py, single-tensor path), float64.
 * `grads[t]` null means the parameter had no gradient at that step (skipped, its step count too).
 *   AdamW: θ = θ·(1 − lr·wd)        Adam: g = g + wd·θ
 *   m = β₁m + (1 − β₁)g;  v = β₂v + (1 − β₂)g²;  t = t + 1
 *   θ = θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
 */
function torchAdam(theta: number[], grads: (number[] | null)[], config: TorchAdamConfig): number[][] {
  const { lr, betas, eps, weightDecay, decoupled } = config;
  const [b1, b2] = betas;
  const p = [...theta];
  const m = new Array<number>(p.length).fill(0);
  const v = new Array<number>(p.length).fill(0);
  let t = 0;
  const history: number[][] = [];
  for (const raw of grads) {
    if (raw !== null) {
      t++;
      const g = [...raw];
      for (let i = 0; i < p.length; i++) {
        if (decoupled) p[i] = p[i]! * (1 - lr * weightDecay);
        else g[i] = g[i]! + weightDecay * p[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      }
      const stepSize = lr / (1 - b1 ** t);
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      for (let i = 0; i < p.length; i++) p[i] = p[i]! - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2Sqrt + eps);
    }
    history.push([...p]);
  }
  return history;
}

function setup(seed: number): { params: Parameter[]; grads: Tensor[][] } {
  const rng = new Rng(seed);
  const params = SHAPES.map((s) => Parameter.from(randn(s, rng)));
  const grads = Array.from({ length: STEPS }, () => SHAPES.map((s) => randn(s, rng)));
  return { params, grads };
}

const CONFIGS: TorchAdamConfig[] = [
  { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decoupled: false }, // PyTorch defaults
  { lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0, decoupled: false },
  { lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1, decoupled: false }, // L2 in the gradient
  { lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1, decoupled: true }, // AdamW
  { lr: 0.01, betas: [0, 0.5], eps: 1e-3, weightDecay: 0.01, decoupled: true },
];

function toOptions(config: TorchAdamConfig): AdamOptions {
  return { lr: config.lr, betas: config.betas, eps: config.eps, weightDecay: config.weightDecay, decoupledWeightDecay: config.decoupled };
}

describe('Adam', () => {
  test.each(CONFIGS)('matches PyTorch over 5 steps: %j', (config) => {
    const { params, grads } = setup(1);
    const expected = params.map((p, k) =>
      torchAdam(
        Array.from(p.data),
        grads.map((step) => Array.from(step[k]!.data)),
        config,
      ),
    );
    const optimizer = new Adam(params, toOptions(config));
    for (let step = 0; step < STEPS; step++) {
      params.forEach((p, k) => (p.grad = grads[step]![k]!.clone()));
      optimizer.step();
      params.forEach((p, k) => expectClose(p.data, expected[k]![step]!, TOL, `step ${step + 1}, param ${k}`));
    }
  });

  test('defaults are PyTorch’s (lr 1e-3, betas 0.9/0.999, eps 1e-8, no weight decay)', () => {
    const optimizer = new Adam([Parameter.from(tensor([1]))]);
    expect([optimizer.lr, optimizer.beta1, optimizer.beta2, optimizer.eps, optimizer.weightDecay, optimizer.decoupledWeightDecay]).toEqual([
      1e-3,
      0.9,
      0.999,
      1e-8,
      0,
      false,
    ]);
  });

  test('hand example: the first step moves each weight by lr·sign(g) (up to ε)', () => {
    const p = Parameter.from(tensor([1, -2, 0.5]));
    p.grad = tensor([0.3, -7, 1e-3]);
    new Adam([p], { lr: 0.1 }).step();
    expectClose(p.data, [0.9, -1.9, 0.4], { atol: 1e-5, rtol: 0 });
  });

  test('a parameter without a gradient is skipped, and its bias correction starts at its own first step', () => {
    const { params, grads } = setup(2);
    const [a, b] = params as [Parameter, Parameter];
    const config = CONFIGS[1]!;
    const b0 = Array.from(b.data);
    const schedule = [null, null, ...[2, 3, 4].map((s) => Array.from(grads[s]![1]!.data))]; // b gets gradients from step 3 on
    const expectedB = torchAdam(b0, schedule, config);
    const optimizer = new Adam(params, toOptions(config));
    for (let step = 0; step < STEPS; step++) {
      a.grad = grads[step]![0]!.clone();
      b.grad = step < 2 ? null : grads[step]![1]!.clone();
      optimizer.step();
      if (step < 2) expect(Array.from(b.data)).toEqual(b0);
      else expectClose(b.data, expectedB[step]!, TOL, `step ${step + 1}`);
    }
  });

  test('bad hyperparameters are ConfigErrors in the constructor', () => {
    const p = [Parameter.from(tensor([1]))];
    for (const [options, argument] of [
      [{ lr: -1e-3 }, 'lr'],
      [{ lr: NaN }, 'lr'],
      [{ betas: [1, 0.999] }, 'betas[0]'],
      [{ betas: [0.9, 1] }, 'betas[1]'],
      [{ betas: [0.9, 1.5] }, 'betas[1]'],
      [{ betas: [-0.1, 0.999] }, 'betas[0]'],
      [{ eps: -1e-8 }, 'eps'],
      [{ weightDecay: -0.01 }, 'weightDecay'],
    ] as [AdamOptions, string][]) {
      const error = expectThrows(() => new Adam(p, options), ConfigError);
      expect(error.op).toBe('Adam');
      expect(error.argument).toBe(argument);
      expect(error.message).toContain(argument);
    }
    expect(expectThrows(() => new Adam([]), ConfigError).argument).toBe('params');
  });
});
