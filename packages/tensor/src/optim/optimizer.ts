import { ConfigError } from '../errors/config-error';
import type { Parameter } from '../nn/parameter';

/** Base of the optimizers: holds the parameters, clears their gradients, takes a step. */
export abstract class Optimizer {
  readonly params: readonly Parameter[];

  constructor(params: Iterable<Parameter>, op: string) {
    this.params = [...params];
    if (this.params.length === 0) throw new ConfigError('got an empty parameter list', { op, argument: 'params' });
  }

  /** Clears every parameter's gradient (call before each backward). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Updates every parameter that has a gradient, in place. */
  abstract step(): void;
}

/** Throws a ConfigError unless `value` is a finite number ≥ `min` (and < `below` when given). */
export function checkHyper(op: string, argument: string, value: number, min: number, below?: number): void {
  if (!Number.isFinite(value) || value < min || (below !== undefined && value >= below)) {
    const range = below === undefined ? `≥ ${min}` : `in [${min}, ${below})`;
    throw new ConfigError(`${argument} must be a finite number ${range}, got ${value}`, { op, argument });
  }
}
