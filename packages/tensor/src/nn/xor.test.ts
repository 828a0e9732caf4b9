import { describe, expect, test } from 'vitest';
import { tensor } from '../creation';
import { mseLoss } from '../ops/losses';
import { tanh } from '../ops/unary';
import { Adam } from '../optim/adam';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { Linear } from './linear';
import { Module } from './module';

// Shape letters: x [N, 2], hidden [N, H] with H = 8, prediction [N, 1]; N = 4 (the XOR truth table).

class XorNet extends Module {
  readonly hidden: Linear;
  readonly output: Linear;

  constructor(rng: Rng) {
    super();
    this.hidden = new Linear(2, 8, { rng });
    this.output = new Linear(8, 1, { rng });
  }

  /** [N, 2] -> [N, 1] */
  forward(x: Tensor): Tensor {
    const h = tanh(this.hidden.forward(x)); // [N, 2] -> [N, H]
    return this.output.forward(h); // [N, H] -> [N, 1]
  }
}

const inputs = tensor([
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
]); // [N, 2]
const targets = tensor([[0], [1], [1], [0]]); // [N, 1]
const STEPS = 300;

describe('learning XOR', () => {
  test(`Linear(2, 8) → tanh → Linear(8, 1) with Adam reaches MSE < 0.01 in ${STEPS} steps, from MSE > 0.05`, () => {
    const net = new XorNet(new Rng(42));
    const untrained = mseLoss(net.forward(inputs), targets).item();
    expect(untrained).toBeGreaterThan(0.05);

    const optimizer = new Adam(net.parameters(), { lr: 0.05 });
    for (let step = 0; step < STEPS; step++) {
      optimizer.zeroGrad();
      mseLoss(net.forward(inputs), targets).backward();
      optimizer.step();
    }
    const trained = mseLoss(net.forward(inputs), targets).item();
    expect(trained).toBeLessThan(0.01);
    // every prediction is on the right side of 1/2
    const predictions = Array.from(net.forward(inputs).data);
    expect(predictions.map((p) => (p > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
  });
});
