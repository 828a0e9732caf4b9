import { linear } from '../ops/linear';
import type { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { allocateWeights, checkBooleanOption, checkConfigObject, checkPositiveInteger, resolveRng } from './check-config';
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
    const op = 'Linear';
    checkPositiveInteger(op, 'inFeatures', inFeatures);
    checkPositiveInteger(op, 'outFeatures', outFeatures);
    checkConfigObject(op, options, false, '{ bias, rng }', ['bias', 'rng']);
    const bias = checkBooleanOption(op, 'bias', options.bias, true);
    const rng = resolveRng(op, options.rng);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter(allocateWeights(op, 'outFeatures', outFeatures, inFeatures), [outFeatures, inFeatures]);
    uniformInit(this.weight, -bound, bound, rng);
    this.bias = bias ? (uniformInit(new Parameter(new Float32Array(outFeatures), [outFeatures]), -bound, bound, rng) as Parameter) : null;
  }

  /** [..., in] -> [..., out] */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
