import { backendOf, contiguous } from '../device/backend-of';
import { expectNumbers, expectTensor } from '../expect-tensor';
import { ReduceOp } from '../kernels/reduce';
import { getKernels } from '../kernels/registry';
import { sameShape, sizeOf } from '../shape';
import { Tensor } from '../tensor';

/**
 * Sums a gradient of a broadcast result back to the shape of the operand that was broadcast
 * (no gradient recorded: used inside backward functions).
 */
export function sumToShape(grad: Tensor, shape: readonly number[]): Tensor {
  expectTensor('sumToShape', 'grad', grad);
  expectNumbers('sumToShape', 'shape', shape);
  if (sameShape(grad.shape, shape)) return grad;
  const lead = grad.rank - shape.length;
  const backend = backendOf('sumToShape', ['grad'], grad);
  if (backend !== null) {
    let storage = grad.storage!;
    const current = [...grad.shape];
    for (let axis = 0; axis < grad.rank; axis++) {
      const target = axis < lead ? 1 : shape[axis - lead]!;
      if (target === 1 && current[axis] !== 1) {
        storage = backend.reduceAxis('sum', storage, sizeOf(current.slice(0, axis)), current[axis]!, sizeOf(current.slice(axis + 1)));
        current[axis] = 1;
      }
    }
    return new Tensor(storage === grad.storage ? backend.copy(contiguous(backend, grad), grad.shape) : storage, shape);
  }
  let data = grad.data;
  const current = [...grad.shape];
  for (let axis = 0; axis < grad.rank; axis++) {
    const target = axis < lead ? 1 : shape[axis - lead]!;
    if (target === 1 && current[axis] !== 1) {
      let outer = 1;
      for (let d = 0; d < axis; d++) outer *= current[d]!;
      let inner = 1;
      for (let d = axis + 1; d < current.length; d++) inner *= current[d]!;
      const out = new Float32Array(outer * inner);
      getKernels().reduceAxis(ReduceOp.Sum, data, outer, current[axis]!, inner, out);
      data = out;
      current[axis] = 1;
    }
  }
  return new Tensor(data === grad.data ? data.slice() : data, shape);
}
