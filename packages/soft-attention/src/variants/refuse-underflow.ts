import { ArgumentError, type Tensor } from '@heed/tensor';

/**
 * `result` unless a normalizer φ(q_i)·Σφ(k_j) of linear attention underflowed to 0 (φ = elu + 1 is below
 * float32's range for entries under about −104), which would make 0/0 = NaN rows: an ArgumentError naming
 * `op` then, never a silent NaN. The batch pass and the recurrent step share it, so they refuse alike.
 */
export function refuseUnderflow(op: string, result: Tensor): Tensor {
  if (result.device !== 'cpu' || !result.data.some(Number.isNaN)) return result;
  throw new ArgumentError(
    'φ(query)·Σφ(keys) underflowed to 0 (entries far below −100: elu + 1 rounds to 0 in float32), which would give NaN rows; rescale the query and keys',
    { op, argument: 'query', shapes: { output: result.shape } },
  );
}
