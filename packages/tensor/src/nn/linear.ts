import { ConfigError } from '../errors/config-error';
import { defaultRng } from '../default-rng';
import { linear } from '../ops/linear';
import type { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { uniformInit } from './init';
import { Module } from './module';
import { Parameter } from './parameter';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the shared default generator). */
  rng?: Rng;
}

/**
 * y = x Wᵀ + b with PyTorch's layout and initialization: weight [out, in], bias [out], both
 * U(−1/√in, 1/√in). [..., in] -> [..., out].
 */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    for (const [name, v] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0)
        throw new ConfigError(`${name} must be a positive integer, got ${v}`, { op: 'Linear', argument: name });
    }
    const rng = options.rng ?? defaultRng();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter(new Float32Array(outFeatures * inFeatures), [outFeatures, inFeatures]);
    uniformInit(this.weight, -bound, bound, rng);
    this.bias =
      options.bias === false
        ? null
        : (uniformInit(new Parameter(new Float32Array(outFeatures), [outFeatures]), -bound, bound, rng) as Parameter);
  }

  /** [..., in] -> [..., out] */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
