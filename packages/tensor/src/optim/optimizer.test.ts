import { describe, expect, test } from 'vitest';
import { tensor } from '../creation';
import { ConfigError } from '../errors/config-error';
import { Parameter } from '../nn/parameter';
import { expectThrows } from '../testing/expect-throws';
import { checkHyper, Optimizer } from './optimizer';

class Recorder extends Optimizer {
  steps = 0;
  constructor(params: Iterable<Parameter>) {
    super(params, 'Recorder');
  }
  step(): void {
    this.steps++;
  }
}

describe('Optimizer', () => {
  test('copies the parameter iterable and clears gradients on zeroGrad', () => {
    const a = Parameter.from(tensor([1]));
    const b = Parameter.from(tensor([2]));
    a.grad = tensor([5]);
    b.grad = tensor([6]);
    const optimizer = new Recorder(new Set([a, b]));
    expect(optimizer.params).toEqual([a, b]);
    optimizer.zeroGrad();
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
  });

  test('an empty parameter list is a ConfigError naming the optimizer', () => {
    const error = expectThrows(() => new Recorder([]), ConfigError);
    expect(error.op).toBe('Recorder');
    expect(error.argument).toBe('params');
  });
});

describe('checkHyper', () => {
  test('accepts finite values in range and names the argument and range otherwise', () => {
    expect(() => checkHyper('Op', 'lr', 0, 0)).not.toThrow();
    expect(() => checkHyper('Op', 'beta', 0.999, 0, 1)).not.toThrow();
    expect(expectThrows(() => checkHyper('Op', 'beta', 1, 0, 1), ConfigError).message).toBe(
      'Op: beta must be a finite number in [0, 1), got 1',
    );
    expect(expectThrows(() => checkHyper('Op', 'lr', -1, 0), ConfigError).message).toBe('Op: lr must be a finite number ≥ 0, got -1');
    expect(expectThrows(() => checkHyper('Op', 'lr', Infinity, 0), ConfigError).argument).toBe('lr');
  });
});
