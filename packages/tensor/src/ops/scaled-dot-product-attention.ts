import { backendOf } from '../device/backend-of';
import type { DeviceAttentionProblem, DeviceBackend, DeviceVariantGradients } from '../device/device-backend';
import { DeviceError } from '../errors/device-error';
import { formatShape } from '../errors/heed-error';
import type { AttentionProblem } from '../kernels/attention';
import { getKernels } from '../kernels/registry';
import { fromOp, Tensor } from '../tensor';
import { resolveAttention, type ScaledDotProductAttentionOptions } from './scaled-dot-product-attention-problem';

/**
 * The score variants of a problem. On a device, those its backend's kernels do not read (`attentionVariants`) are
 * refused, never approximated.
 */
const VARIANTS = ['alibiSlopes', 'positionBias', 'softcap', 'sinks', 'querySegments'] as const;

/**
 * The problem as a device backend reads it: the attention mask (host data: masks are built on the CPU) uploaded in
 * the layout the problem reads it, the learned variant parameters (positionBias [H, Lq + Lk − 1], sinks [H]: tensors
 * on the device, as `backendOf` checked) as their storage. A DeviceError naming `op` for a variant the device
 * kernels do not read.
 */
export function deviceAttentionProblem(
  op: string,
  backend: DeviceBackend,
  problem: AttentionProblem,
  tensors: Record<string, Tensor>,
  parameters: { positionBias: Tensor | null; sinks: Tensor | null },
): DeviceAttentionProblem {
  const variant = VARIANTS.find(
    (name) =>
      (problem[name] != null || (name in parameters && parameters[name as keyof typeof parameters] !== null)) &&
      !backend.attentionVariants?.includes(name),
  );
  if (variant !== undefined) {
    throw new DeviceError(`${variant} is not read by the attention kernels of '${backend.name}': move the inputs with \`await toCpu(t)\``, {
      op,
      argument: variant,
      shapes: Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.shape])),
    });
  }
  return {
    ...problem,
    attentionMask: problem.attentionMask && backend.upload(problem.attentionMask),
    positionBias: parameters.positionBias?.storage ?? null,
    sinks: parameters.sinks?.storage ?? null,
  };
}

/** The op's differentiable inputs, query first, with their names: the variant parameters follow the tensors given. */
export function attentionInputs(
  tensors: Record<string, Tensor>,
  parameters: { positionBias: Tensor | null; sinks: Tensor | null },
): { names: string[]; inputs: Tensor[] } {
  const named = [...Object.entries(tensors), ...Object.entries(parameters).filter((entry): entry is [string, Tensor] => entry[1] !== null)];
  return { names: named.map(([name]) => name), inputs: named.map(([, t]) => t) };
}

// Shape letters: ... leading (batch, heads) dims, H query heads, Lq queries, Lk keys, d features, dv value features.

/** The fused forward's results: the output and the row statistics the weights can be rebuilt from. */
export interface ScaledDotProductAttentionResult {
  /** [..., Lq, dv] */
  output: Tensor;
  /** [..., Lq], log Σ_j exp(s_ij) over the allowed keys (−∞ for a fully masked row). Carries no gradient. */
  logSumExp: Tensor;
}

/**
 * softmax(scale · Q Kᵀ, masked) V, fused: computed tile by tile with an online softmax, so the
 * Lq×Lk weights are never stored (O(L) memory, FlashAttention-2). Gradients flow to query, keys and
 * values, recomputing the weights tile by tile. Fully masked rows give 0 and pass no gradient.
 * query [..., Lq, d], keys [..., Lk, d], values [..., Lk, dv] -> [..., Lq, dv]
 * (with `groupSize` g: query [..., H, Lq, d], keys and values [..., H/g, Lk, ·]; with layout
 * 'sequence-first': query [..., Lq, H, d], keys and values [..., Lk, H/g, ·] -> [..., Lq, H, dv]).
 */
export function scaledDotProductAttention(
  query: Tensor,
  keys: Tensor,
  values: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor {
  return scaledDotProductAttentionWithLogSumExp(query, keys, values, options).output;
}

/**
 * `scaledDotProductAttention` that also returns the log-sum-exp of every query row, from which
 * `attentionWeights` rebuilds the exact weights of any rows on request.
 * query [..., Lq, d], keys [..., Lk, d], values [..., Lk, dv] -> output [..., Lq, dv], logSumExp [..., Lq]
 * ('sequence-first': query [..., Lq, H, d] -> output [..., Lq, H, dv], logSumExp [..., H, Lq]).
 */
export function scaledDotProductAttentionWithLogSumExp(
  query: Tensor,
  keys: Tensor,
  values: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): ScaledDotProductAttentionResult {
  const { problem, lead, outputShape } = resolveAttention('scaledDotProductAttention', query, keys, values, options);
  const { n, queryLength: Lq, valueDim: dv } = problem;
  const { positionBias, sinks } = variantParameters(options);
  // The learned variant parameters are inputs like q, k, v: on the same device, or a DeviceError (never a lost gradient).
  const { names, inputs } = attentionInputs({ query, keys, values }, { positionBias, sinks });
  const backend = backendOf('scaledDotProductAttention', names, ...inputs);
  if (backend !== null) {
    // On a device: the same problem on the backend's kernels. The attention mask is host data (a CPU tensor, as
    // masks are built), uploaded in the layout the problem reads it.
    const deviceProblem = deviceAttentionProblem(
      'scaledDotProductAttention',
      backend,
      problem,
      { query, keys, values },
      { positionBias, sinks },
    );
    const [q, k, v] = [query.storage!, keys.storage!, values.storage!];
    const { output: out, logSumExp: lse } = backend.attentionForward(deviceProblem, q, k, v);
    const output = fromOp(out, outputShape, 'scaledDotProductAttention', inputs, (g) => {
      const gradients = backend.attentionBackward(deviceProblem, q, k, v, out, lse, g.storage!);
      return [
        query.requiresGrad ? new Tensor(gradients.dq, query.shape) : null,
        keys.requiresGrad ? new Tensor(gradients.dk, keys.shape) : null,
        values.requiresGrad ? new Tensor(gradients.dv, values.shape) : null,
        ...variantGradientsOf('scaledDotProductAttention', positionBias, sinks, gradients),
      ];
    });
    return { output, logSumExp: new Tensor(lse, [...lead, Lq]) };
  }
  const out = new Float32Array(n * Lq * dv); // [n, Lq, dv], or [..., Lq, H, dv] with 'sequence-first'
  const lse = new Float32Array(n * Lq); // [n, Lq]
  getKernels().attentionForward(problem, query.data, keys.data, values.data, out, lse);
  const output = fromOp(out, outputShape, 'scaledDotProductAttention', inputs, (g) => {
    // FlashAttention-2 backward: dV = Pᵀ dOut, dS = P ⊙ (dOut Vᵀ − rowsum(dOut ⊙ out)), dQ = scale·dS K, dK = scale·dSᵀ Q
    // (dS back through the soft-cap); d positionBias = dS summed along its diagonals, d sinks = −Σ_i P_sink,i · (dOut_i · out_i).
    const dq = new Float32Array(query.size); // [..., Lq, d]
    const dk = new Float32Array(keys.size); // [..., Lk, d]
    const dvOut = new Float32Array(values.size); // [..., Lk, dv]
    const dBias = positionBias ? new Float32Array(positionBias.size) : null; // [H, Lq + Lk − 1]
    const dSinks = sinks ? new Float32Array(sinks.size) : null; // [H]
    getKernels().attentionBackward(problem, query.data, keys.data, values.data, out, lse, g.data, dq, dk, dvOut, {
      positionBias: dBias,
      sinks: dSinks,
    });
    return [
      query.requiresGrad ? new Tensor(dq, query.shape) : null,
      keys.requiresGrad ? new Tensor(dk, keys.shape) : null,
      values.requiresGrad ? new Tensor(dvOut, values.shape) : null,
      ...(positionBias ? [positionBias.requiresGrad ? new Tensor(dBias!, positionBias.shape) : null] : []),
      ...(sinks ? [sinks.requiresGrad ? new Tensor(dSinks!, sinks.shape) : null] : []),
    ];
  });
  return { output, logSumExp: new Tensor(lse, [...lead, Lq]) }; // [..., Lq, dv] (or [..., Lq, H, dv]), [..., Lq] (or [..., H, Lq])
}

/**
 * The device gradients of the variant parameters given (positionBias [H, Lq + Lk − 1], sinks [H]), in input order:
 * null where one tracks no gradient; a DeviceError where the backend returned none for a parameter that does.
 */
export function variantGradientsOf(
  op: string,
  positionBias: Tensor | null,
  sinks: Tensor | null,
  gradients: DeviceVariantGradients,
): (Tensor | null)[] {
  const out: (Tensor | null)[] = [];
  for (const [name, parameter] of [
    ['positionBias', positionBias],
    ['sinks', sinks],
  ] as const) {
    if (parameter === null) continue;
    const gradient = gradients[name] ?? null;
    if (parameter.requiresGrad && gradient === null) {
      throw new DeviceError(`the device backend returned no gradient for ${name} ${formatShape(parameter.shape)}`, {
        op,
        argument: name,
        shapes: { [name]: parameter.shape },
      });
    }
    out.push(parameter.requiresGrad ? new Tensor(gradient!, parameter.shape) : null);
  }
  return out;
}

/** The differentiable variant parameters of a call: the relative position bias [H, Lq + Lk − 1] and the sinks [H], when given. */
export function variantParameters(options: ScaledDotProductAttentionOptions): { positionBias: Tensor | null; sinks: Tensor | null } {
  return { positionBias: options.positionBias ?? null, sinks: options.sinks ?? null };
}
