import { deviceBackend } from '../device/device-registry';
import { ConfigError } from '../errors/config-error';
import { describeValue } from '../expect-tensor';
import type { Parameter } from '../nn/parameter';
import { checkBooleanOption, checkConfigObject } from '../nn/check-config';
import { checkHyper, checkPositiveHyper, Optimizer } from './optimizer';

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  /** Decoupled weight decay (AdamW, Loshchilov & Hutter 2019) instead of L2 added to the gradient. */
  decoupledWeightDecay?: boolean;
}

/**
 * Adam (Kingma & Ba 2015), as PyTorch's `Adam`/`AdamW`:
 * m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; θ ← θ − lr · m̂ / (√v̂ + ε), with bias-corrected m̂, v̂.
 */
export class Adam extends Optimizer {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupledWeightDecay: boolean;
  /** Per parameter, as PyTorch: its own step count t (bias correction); its moments [m, v] are the optimizer's state. */
  private readonly steps = new Map<Parameter, number>();

  constructor(params: Iterable<Parameter>, options: AdamOptions = {}) {
    super(params, 'Adam');
    checkConfigObject('Adam', options, false, '', ['lr', 'betas', 'eps', 'weightDecay', 'decoupledWeightDecay']);
    this.lr = options.lr ?? 1e-3;
    const betas: unknown = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new ConfigError(`betas must be a pair [beta1, beta2], got ${describeValue(betas)}`, { op: 'Adam', argument: 'betas' });
    }
    [this.beta1, this.beta2] = betas as [number, number];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decoupledWeightDecay = checkBooleanOption('Adam', 'decoupledWeightDecay', options.decoupledWeightDecay, false);
    checkPositiveHyper('Adam', 'lr', this.lr);
    checkHyper('Adam', 'betas[0]', this.beta1, 0, 1);
    checkHyper('Adam', 'betas[1]', this.beta2, 0, 1);
    checkPositiveHyper('Adam', 'eps', this.eps); // ε = 0 gives 0/0 at a zero gradient
    checkHyper('Adam', 'weightDecay', this.weightDecay, 0);
  }

  step(): void {
    const { lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay } = this;
    this.checkStep('Adam.step');
    for (const p of this.params) {
      if (!p.grad) continue;
      // A parameter without a gradient is skipped entirely, its step count included.
      const t = (this.steps.get(p) ?? 0) + 1;
      this.steps.set(p, t);
      const c1 = 1 - Math.pow(beta1, t);
      const c2 = 1 - Math.pow(beta2, t);
      const stepSize = lr / c1;
      const zeros = () => [new Float32Array(p.size), new Float32Array(p.size)];
      const storage = p.storage;
      if (storage !== null) {
        // On a device: one kernel updates θ, m and v in place there (the moments stay there until `toDevice`).
        const backend = deviceBackend(storage.device, 'Adam.step');
        const [m, v] = this.stateOn(p, backend, zeros);
        backend.adamStep(storage, p.grad.storage!, m!, v!, { lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, c1, c2 });
        continue;
      }
      let state = this.hostState.get(p);
      if (state === undefined) {
        state = zeros();
        this.hostState.set(p, state);
      }
      const [m, v] = state as [Float32Array, Float32Array];
      const theta = p.data;
      const grad = p.grad.data;
      for (let i = 0; i < theta.length; i++) {
        let g = grad[i]!;
        if (decoupledWeightDecay) theta[i] = theta[i]! * (1 - lr * weightDecay);
        else g += weightDecay * theta[i]!;
        const mi = beta1 * m[i]! + (1 - beta1) * g;
        const vi = beta2 * v[i]! + (1 - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        theta[i] = theta[i]! - (stepSize * mi) / (Math.sqrt(vi / c2) + eps);
      }
    }
  }

  /** `p`'s state: its step count and moments m, v (copies, read from its device when its last steps ran there); null before its first step. */
  async stateOf(p: Parameter): Promise<{ step: number; m: Float32Array; v: Float32Array } | null> {
    const state = await this.currentState(p);
    return state === null ? null : { step: this.steps.get(p)!, m: state[0]!, v: state[1]! };
  }
}
