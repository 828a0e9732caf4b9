import { Tensor, type TensorLike } from '../tensor';

/** Numbers become scalar tensors; tensors pass through. */
export function toTensor(x: TensorLike): Tensor {
  return typeof x === 'number' ? new Tensor(new Float32Array([x]), []) : x;
}
