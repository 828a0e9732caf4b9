import { expectTensor, formatShape, ShapeError, type Tensor } from '@heed/tensor';

/**
 * Checks query [..., Lq, dq] and keys [..., Lk, dk] for a scorer: ranks ≥ 2, equal leading dims,
 * and (when given) the feature sizes the scorer was built for or needs to be equal.
 */
export function checkScorerInputs(
  kind: string,
  query: Tensor,
  keys: Tensor,
  expect: { queryDim?: number; keyDim?: number; sameDim?: boolean } = {},
): { queryDim: number; keyDim: number } {
  const op = `${kind}.score`;
  expectTensor(op, 'query', query);
  expectTensor(op, 'keys', keys);
  const shapes = { query: query.shape, keys: keys.shape };
  if (query.rank < 2 || keys.rank < 2) {
    throw new ShapeError(`query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)} must be [..., L, d]`, {
      op,
      argument: query.rank < 2 ? 'query' : 'keys',
      shapes,
    });
  }
  const lead = (t: Tensor) => t.shape.slice(0, -2).join(',');
  if (lead(query) !== lead(keys)) {
    throw new ShapeError(
      `query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)} must have the same leading (batch) dimensions`,
      {
        op,
        argument: 'keys',
        shapes,
      },
    );
  }
  const queryDim = query.shape[query.rank - 1]!;
  const keyDim = keys.shape[keys.rank - 1]!;
  if (expect.sameDim && queryDim !== keyDim) {
    throw new ShapeError(
      `compares query and key features directly, so dq must equal dk; got query ${formatShape(query.shape)} (dq=${queryDim}) and keys ${formatShape(keys.shape)} (dk=${keyDim})`,
      {
        op,
        argument: 'keys',
        shapes,
      },
    );
  }
  if (expect.queryDim !== undefined && queryDim !== expect.queryDim) {
    throw new ShapeError(`was built for queryDim ${expect.queryDim}, got query ${formatShape(query.shape)}`, {
      op,
      argument: 'query',
      shapes,
    });
  }
  if (expect.keyDim !== undefined && keyDim !== expect.keyDim) {
    throw new ShapeError(`was built for keyDim ${expect.keyDim}, got keys ${formatShape(keys.shape)}`, { op, argument: 'keys', shapes });
  }
  return { queryDim, keyDim };
}
