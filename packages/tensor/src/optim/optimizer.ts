import type { DeviceBackend, DeviceStorage } from '../device/device-backend';
import { deviceBackend } from '../device/device-registry';
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

  /** Per parameter, its state on the host (Adam's moments, SGD's momentum buffer): current unless `deviceState` holds it. */
  protected readonly hostState = new Map<Parameter, Float32Array[]>();
  /** Per parameter whose last steps ran on a device, its state there, updated in place by the steps (the host copy is stale). */
  protected readonly deviceState = new Map<Parameter, DeviceStorage[]>();

  /**
   * Moves the state (Adam's moments, SGD's momentum buffers) to `device` ('cpu' or a registered device), where the
   * parameters now are: after `await model.toDevice(device)` (or `moveInPlace`), before the next step. A step refuses
   * a parameter whose state is on another device (it cannot be read synchronously) with a DeviceError that says so.
   */
  async toDevice(device: string): Promise<void> {
    const op = `${this.constructor.name}.toDevice`;
    const backend = device === 'cpu' ? null : deviceBackend(device, op);
    for (const [p, storages] of [...this.deviceState]) {
      if (storages[0]!.device === device) continue;
      const from = deviceBackend(storages[0]!.device, op);
      const host = await Promise.all(storages.map((s) => from.read(s)));
      for (const s of storages) from.release?.(s);
      this.hostState.set(p, host);
      if (backend === null) this.deviceState.delete(p);
      else
        this.deviceState.set(
          p,
          host.map((x) => backend.upload(x)),
        );
    }
  }

  /** The current values of `p`'s state (copies; from its device, after the work queued there), or null before its first step. */
  protected async currentState(p: Parameter): Promise<Float32Array[] | null> {
    const storages = this.deviceState.get(p);
    if (storages !== undefined) {
      const backend = deviceBackend(storages[0]!.device, `${this.constructor.name}.state`);
      return Promise.all(storages.map((s) => backend.read(s)));
    }
    return this.hostState.get(p)?.map((x) => x.slice()) ?? null;
  }

  /**
   * Before a step changes anything: every parameter with a gradient has it on its own device, and its state (if any)
   * there too, of its parameter's shape; a DeviceError or ShapeError naming `op` otherwise, so that a step that
   * throws changes no parameter and no state.
   */
  protected checkStep(op: string): void {
    for (const p of this.params) {
      if (!p.grad) continue;
      if (!sameShape(p.grad.shape, p.shape)) {
        throw new ShapeError(`a ${formatShape(p.shape)} parameter has a gradient of shape ${formatShape(p.grad.shape)}`, {
          op,
          argument: 'params',
          shapes: { param: p.shape, grad: p.grad.shape },
        });
      }
      if (p.storage !== null) expectGradOn(p, op);
      else if (p.grad.storage !== null) {
        throw new DeviceError(`a ${formatShape(p.shape)} parameter on 'cpu' has its gradient on '${p.grad.device}'`, {
          op,
          argument: 'params',
          shapes: { param: p.shape, grad: p.grad.shape },
        });
      }
      const state = this.deviceState.get(p)?.[0];
      if (state !== undefined && state.device !== p.device) {
        throw new DeviceError(
          `the state of a ${formatShape(p.shape)} parameter on '${p.device}' is on '${state.device}', where its last steps ran: ` +
            `move it with \`await optimizer.toDevice('${p.device}')\` after moving the parameters`,
          { op, argument: 'params', shapes: { param: p.shape } },
        );
      }
    }
  }

  /** `p`'s state on `backend` (p's device): the one there, or the host state uploaded (`initial` when there is none). */
  protected stateOn(p: Parameter, backend: DeviceBackend, initial: () => Float32Array[]): DeviceStorage[] {
    let storages = this.deviceState.get(p);
    if (storages === undefined) {
      storages = (this.hostState.get(p) ?? initial()).map((x) => backend.upload(x));
      this.deviceState.set(p, storages);
    }
    return storages;
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
