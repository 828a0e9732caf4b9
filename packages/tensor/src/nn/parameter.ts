import { Tensor } from '../tensor';

/** A tensor a module learns: always a leaf, always `requiresGrad`. */
export class Parameter extends Tensor {
  constructor(data: Float32Array, shape: readonly number[]) {
    super(data, shape, true);
  }

  /** A parameter holding a copy of `t`'s values. */
  static from(t: Tensor): Parameter {
    return new Parameter(t.data.slice(), t.shape);
  }
}
