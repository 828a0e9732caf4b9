import type { DeviceStorage } from '../device/device-backend';
import { ConfigError } from '../errors/config-error';
import { DeviceError } from '../errors/device-error';
import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import { describeValue } from '../expect-tensor';
import { Parameter } from '../nn/parameter';
import { sameShape } from '../shape';

/** Base of the optimizers: holds the parameters, clears their gradients, takes a step. */
export abstract class Optimizer {
  readonly params: readonly Parameter[];

  constructor(params: Iterable<Parameter>, op: string) {
    this.params = checkParameters(op, params);
    if (this.params.length === 0) throw new ConfigError('got an empty parameter list', { op, argument: 'params' });
  }

  /** Clears every parameter's gradient (call before each backward). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Updates every parameter that has a gradient, in place. */
  abstract step(): void;

  /**
   * Checks every gradient before a step writes anything, so that a step that throws changes no parameter and
   * no optimizer state: each gradient must have its parameter's shape and live on its parameter's device.
   */
  protected checkGradients(op: string): void {
    for (const p of this.params) {
      const grad = p.grad;
      if (!grad) continue;
      if (!sameShape(grad.shape, p.shape)) {
        throw new ShapeError(`a ${formatShape(p.shape)} parameter has a gradient of shape ${formatShape(grad.shape)}`, {
          op,
          argument: 'params',
          shapes: { param: p.shape, grad: grad.shape },
        });
      }
      if (p.storage !== null) expectGradOn(p, op);
      else if (grad.device !== 'cpu') {
        throw new DeviceError(`a ${formatShape(p.shape)} parameter on 'cpu' has its gradient on '${grad.device}'`, {
          op,
          argument: 'params',
          shapes: { param: p.shape, grad: grad.shape },
        });
      }
    }
  }
}

/** The storage of `p.grad` on `p`'s device; a DeviceError naming `op` when the gradient lives elsewhere. */
export function expectGradOn(p: Parameter, op: string): DeviceStorage {
  const grad = p.grad!;
  if (grad.device !== p.device || grad.storage === null) {
    throw new DeviceError(`a ${formatShape(p.shape)} parameter on '${p.device}' has its gradient on '${grad.device}'`, {
      op,
      argument: 'params',
      shapes: { param: p.shape, grad: grad.shape },
    });
  }
  return grad.storage;
}

/** Throws a ConfigError unless `value` is a finite number ≥ `min` (and < `below` when given). */
export function checkHyper(op: string, argument: string, value: number, min: number, below?: number): void {
  if (!Number.isFinite(value) || value < min || (below !== undefined && value >= below)) {
    const range = below === undefined ? `≥ ${min}` : `in [${min}, ${below})`;
    throw new ConfigError(`${argument} must be a finite number ${range}, got ${value}`, { op, argument });
  }
}

/** Throws a ConfigError unless `value` is a finite number > 0 (a learning rate, an ε that keeps 0/0 away). */
export function checkPositiveHyper(op: string, argument: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(`${argument} must be a finite number > 0, got ${value}`, { op, argument });
}

/**
 * The parameters as an array: an iterable (e.g. `model.parameters()`) of Parameters, each once. A single
 * Parameter, undefined or plain tensors are refused with a ConfigError naming `op`.
 */
export function checkParameters(op: string, params: unknown): Parameter[] {
  if (params instanceof Parameter) {
    throw new ConfigError('params must be a list of Parameters (e.g. model.parameters()), got a single Parameter: wrap it in [ ]', {
      op,
      argument: 'params',
    });
  }
  if (typeof params !== 'object' || params === null || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new ConfigError(`params must be an iterable of Parameters (e.g. model.parameters()), got ${describeValue(params)}`, {
      op,
      argument: 'params',
    });
  }
  const list = [...(params as Iterable<unknown>)];
  list.forEach((p, i) => {
    if (!(p instanceof Parameter))
      throw new ConfigError(`params[${i}] must be a Parameter, got ${describeValue(p)}`, { op, argument: 'params' });
  });
  return list as Parameter[];
}
