import { backendOf } from '../device/backend-of';
import { ArgumentError } from '../errors/argument-error';
import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import { getKernels } from '../kernels/registry';
import { sameShape } from '../shape';
import { permute } from './permute';
import { fromOp, Tensor } from '../tensor';
import { attentionInputs, deviceAttentionProblem, variantGradientsOf, variantParameters } from './scaled-dot-product-attention';
import { resolveAttention, type ScaledDotProductAttentionOptions } from './scaled-dot-product-attention-problem';

// Shape letters: ... leading (batch, heads) dims, Lq queries, R chosen query rows, Lk keys, d features.

export interface AttentionWeightsOptions extends ScaledDotProductAttentionOptions {
  /** Query rows to rebuild (indices into Lq, any order, repeats allowed); default every row. */
  rows?: readonly number[];
}

/**
 * The exact attention weights behind a `scaledDotProductAttentionWithLogSumExp` call, for any query
 * rows: p_ij = exp(scale · q_i·k_j − logSumExp_i) on allowed keys, 0 elsewhere (and on fully masked
 * rows), from the same scores the fused kernel used (each row then divided by its sum, which is 1 up
 * to the float32 rounding of logSumExp). Pass the same query, keys and options as that call.
 * Memory is R × Lk: ask for the rows you need.
 * Differentiable in query and keys (as a softmax of complete rows); logSumExp is read as a constant.
 * query [..., Lq, d], keys [..., Lk, d], logSumExp [..., Lq] -> [..., R, Lk]
 * ('sequence-first': query [..., Lq, H, d], keys [..., Lk, Hkv, d], logSumExp [..., H, Lq] -> [..., H, R, Lk]).
 */
export function attentionWeights(query: Tensor, keys: Tensor, logSumExp: Tensor, options: AttentionWeightsOptions = {}): Tensor {
  const op = 'attentionWeights';
  const { problem, lead } = resolveAttention(op, query, keys, null, options);
  if (problem.layout === 'sequence-first') {
    // The weights are [..., H, R, Lk] in either layout: read the heads first (a copy of q and k only).
    const swap = Array.from({ length: query.rank }, (_, i) =>
      i === query.rank - 3 ? query.rank - 2 : i === query.rank - 2 ? query.rank - 3 : i,
    );
    return attentionWeights(permute(query, swap), permute(keys, swap), logSumExp, { ...options, layout: 'heads-first' }); // [..., Lq, H, d] -> [..., H, Lq, d]
  }
  const { n, queryLength: Lq, keyLength: Lk } = problem;
  if (!sameShape(logSumExp.shape, [...lead, Lq])) {
    throw new ShapeError(
      `logSumExp ${formatShape(logSumExp.shape)} must be [..., Lq] = ${formatShape([...lead, Lq])} for query ${formatShape(query.shape)}`,
      {
        op,
        argument: 'logSumExp',
        shapes: { query: query.shape, keys: keys.shape, logSumExp: logSumExp.shape },
      },
    );
  }
  const rows = options.rows === undefined ? Int32Array.from({ length: Lq }, (_, i) => i) : Int32Array.from(options.rows);
  if (options.rows !== undefined) {
    options.rows.forEach((i, r) => {
      if (!Number.isInteger(i) || i < 0 || i >= Lq) {
        throw new ArgumentError(`rows[${r}] = ${i} is not a query row index in [0, ${Lq})`, {
          op,
          argument: 'rows',
          shapes: { query: query.shape },
        });
      }
    });
  }
  const R = rows.length;
  const { positionBias, sinks } = variantParameters(options);
  const { names, inputs } = attentionInputs({ query, keys }, { positionBias, sinks });
  const backend = backendOf(op, [...names, 'logSumExp'], ...inputs, logSumExp);
  if (backend !== null) {
    const deviceProblem = deviceAttentionProblem(op, backend, problem, { query, keys, logSumExp }, { positionBias, sinks });
    const [q, k] = [query.storage!, keys.storage!];
    const weights = backend.attentionWeights(deviceProblem, q, k, logSumExp.storage!, rows);
    return fromOp(weights, [...lead, R, Lk], op, inputs, (g) => {
      const gradients = backend.attentionWeightsBackward(deviceProblem, q, k, rows, weights, g.storage!);
      return [
        query.requiresGrad ? new Tensor(gradients.dq, query.shape) : null,
        keys.requiresGrad ? new Tensor(gradients.dk, keys.shape) : null,
        ...variantGradientsOf(op, positionBias, sinks, gradients),
      ];
    });
  }
  const weights = new Float32Array(n * R * Lk); // [n, R, Lk]
  getKernels().attentionWeights(problem, query.data, keys.data, logSumExp.data, rows, weights);
  return fromOp(weights, [...lead, R, Lk], op, inputs, (g) => {
    // Each row is a softmax over all its keys (and the sink): dS = P ⊙ (G − rowsum(G ⊙ P)); dQ = scale·dS K, dK = scale·dSᵀ Q.
    const dq = new Float32Array(query.size); // [..., Lq, d]
    const dk = new Float32Array(keys.size); // [..., Lk, d]
    const dBias = positionBias ? new Float32Array(positionBias.size) : null; // [H, Lq + Lk − 1]
    const dSinks = sinks ? new Float32Array(sinks.size) : null; // [H]
    getKernels().attentionWeightsBackward(problem, query.data, keys.data, rows, weights, g.data, dq, dk, {
      positionBias: dBias,
      sinks: dSinks,
    });
    return [
      query.requiresGrad ? new Tensor(dq, query.shape) : null,
      keys.requiresGrad ? new Tensor(dk, keys.shape) : null,
      ...(positionBias ? [positionBias.requiresGrad ? new Tensor(dBias!, positionBias.shape) : null] : []),
      ...(sinks ? [sinks.requiresGrad ? new Tensor(dSinks!, sinks.shape) : null] : []),
    ];
  });
}
