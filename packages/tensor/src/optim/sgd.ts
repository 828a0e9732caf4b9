import { deviceBackend } from '../device/device-registry';
import { ConfigError } from '../errors/config-error';
import type { Parameter } from '../nn/parameter';
import { checkBooleanOption, checkConfigObject } from '../nn/check-config';
import { checkHyper, checkPositiveHyper, Optimizer } from './optimizer';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent with momentum, as PyTorch's `SGD`:
 * g ← g + λθ; b ← μb + (1 − τ)g (b = g at the first step); θ ← θ − lr·(nesterov ? g + μb : b).
 */
export class SGD extends Optimizer {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: Iterable<Parameter>, options: SgdOptions) {
    super(params, 'SGD');
    checkConfigObject('SGD', options, true, '(it holds the learning rate lr)', ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov']);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = checkBooleanOption('SGD', 'nesterov', options.nesterov, false);
    checkPositiveHyper('SGD', 'lr', this.lr);
    checkHyper('SGD', 'momentum', this.momentum, 0, 1);
    checkHyper('SGD', 'dampening', this.dampening, 0);
    // τ in [0, 1]: the share of the new gradient left out of the buffer (τ > 1 would flip its sign)
    if (this.dampening > 1)
      throw new ConfigError(`dampening must be a finite number in [0, 1], got ${this.dampening}`, { op: 'SGD', argument: 'dampening' });
    checkHyper('SGD', 'weightDecay', this.weightDecay, 0);
    if (this.nesterov && (this.momentum === 0 || this.dampening !== 0)) {
      throw new ConfigError(`nesterov needs momentum > 0 and dampening 0, got momentum ${this.momentum} and dampening ${this.dampening}`, {
        op: 'SGD',
        argument: 'nesterov',
      });
    }
  }

  step(): void {
    const { lr, momentum: mu, dampening, weightDecay, nesterov } = this;
    this.checkStep('SGD.step');
    for (const p of this.params) {
      if (!p.grad) continue;
      // The momentum buffer [b] is the state; b = g at the first step.
      const first = !this.hostState.has(p) && !this.deviceState.has(p);
      const storage = p.storage;
      if (storage !== null) {
        // On a device: one kernel updates θ and the momentum buffer in place there (it stays there until `toDevice`).
        const backend = deviceBackend(storage.device, 'SGD.step');
        const buffer = mu === 0 ? null : this.stateOn(p, backend, () => [new Float32Array(p.size)])[0]!;
        backend.sgdStep(storage, p.grad.storage!, buffer, { lr, momentum: mu, dampening, weightDecay, nesterov, first });
        continue;
      }
      const theta = p.data;
      const grad = p.grad.data;
      let buf = this.hostState.get(p)?.[0];
      if (mu !== 0 && !buf) {
        buf = new Float32Array(theta.length);
        this.hostState.set(p, [buf]);
      }
      for (let i = 0; i < theta.length; i++) {
        let g = grad[i]! + weightDecay * theta[i]!;
        if (buf) {
          const b = first ? g : mu * buf[i]! + (1 - dampening) * g;
          buf[i] = b;
          g = nesterov ? g + mu * b : b;
        }
        theta[i] = theta[i]! - lr * g;
      }
    }
  }

  /** `p`'s momentum buffer (a copy, read from its device when its last steps ran there); null before its first step or without momentum. */
  async momentumBufferOf(p: Parameter): Promise<Float32Array | null> {
    return (await this.currentState(p))?.[0] ?? null;
  }
}
