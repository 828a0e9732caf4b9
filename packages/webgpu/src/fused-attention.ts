import { type AttentionProblem, type DeviceAttentionProblem, DeviceError, type DeviceStorage } from '@heed/tensor';
import { type AttentionKernels, createAttentionKernels, MAX_ATTENTION_HEAD_DIM } from './attention/create-attention-kernels';
import type { GpuStorage } from './gpu-storage';
import type { GpuAttentionKernels, WebGpuBackend } from './webgpu-backend';

// Shape letters: n slices (batch·heads), nKv = n / groupSize, Lq queries, Lk keys, d, dv head sizes, R chosen rows.

/**
 * The tiled FlashAttention-style WGSL kernels of ./attention (tiles of queries and keys in workgroup memory, online
 * softmax, log-sum-exp kept for the backward) as the backend's attention, on its pooled storage. Head sizes beyond
 * what they take (MAX_ATTENTION_HEAD_DIM) run on the backend's row kernels.
 */
export function fusedAttention(
  backend: WebGpuBackend,
  kernels: AttentionKernels = createAttentionKernels(backend.device),
): GpuAttentionKernels {
  const rows = backend.rowAttention;
  const fits = (problem: DeviceAttentionProblem): boolean => {
    if (problem.headDim <= MAX_ATTENTION_HEAD_DIM && problem.valueDim <= MAX_ATTENTION_HEAD_DIM) return true;
    const variant = (['alibiSlopes', 'positionBias', 'softcap', 'sinks', 'querySegments'] as const).find((name) => problem[name] != null);
    if (variant !== undefined) {
      throw new DeviceError(
        `${variant} needs head sizes of at most ${MAX_ATTENTION_HEAD_DIM} on the GPU, got d = ${problem.headDim}, dv = ${problem.valueDim}`,
        { op: 'scaledDotProductAttention', argument: variant },
      );
    }
    return false; // the row kernels: every head size, no variants
  };
  // The kernels read the mask and the learned variant parameters from the buffers given beside the problem.
  const onDevice = (problem: DeviceAttentionProblem): AttentionProblem => ({
    ...problem,
    attentionMask: null,
    positionBias: null,
    sinks: null,
  });
  // The weights read no values: their problem has valueDim 0, which the kernels' checks refuse; any size does.
  const withoutValues = (problem: DeviceAttentionProblem): AttentionProblem => ({
    ...onDevice(problem),
    valueDim: Math.max(problem.valueDim, 1),
  });
  const bufferOf = (storage: DeviceStorage | null | undefined) => (storage ? (storage as GpuStorage).buffer : null);
  const maskOf = (problem: DeviceAttentionProblem) => bufferOf(problem.attentionMask);
  const variantsOf = (problem: DeviceAttentionProblem) => ({
    positionBias: bufferOf(problem.positionBias),
    sinks: bufferOf(problem.sinks),
  });
  /** The variant parameters' gradients a call writes: positionBias [H, Lq + Lk − 1], sinks [H]; zeros where they accumulate. */
  const variantGradientsOf = (problem: DeviceAttentionProblem, zeroed: boolean) => {
    const H = problem.heads ?? 1;
    const make = (size: number) => (zeroed ? backend.fill(size, 0) : backend.allocate(size));
    return {
      positionBias: problem.positionBias ? make(H * (problem.queryLength + problem.keyLength - 1)) : null,
      sinks: problem.sinks ? make(H) : null,
    };
  };
  return {
    forward(problem, q, k, v) {
      if (!fits(problem)) return rows.forward(problem, q, k, v);
      const { n, queryLength: Lq, valueDim: dv } = problem;
      const output = backend.allocate(n * Lq * dv); // [n, Lq, dv] (or sequence-first)
      const logSumExp = backend.allocate(n * Lq); // [n, Lq]
      kernels.forward(onDevice(problem), {
        q: q.buffer,
        k: k.buffer,
        v: v.buffer,
        out: output.buffer,
        logSumExp: logSumExp.buffer,
        attentionMask: maskOf(problem),
        ...variantsOf(problem),
      });
      return { output, logSumExp };
    },
    backward(problem, q, k, v, output, logSumExp, dOutput) {
      if (!fits(problem)) return rows.backward(problem, q, k, v, output, logSumExp, dOutput);
      const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dvSize, groupSize } = problem;
      const dq = backend.allocate(n * Lq * d); // [n, Lq, d]
      const dk = backend.allocate((n / groupSize) * Lk * d); // [nKv, Lk, d]
      const dv = backend.allocate((n / groupSize) * Lk * dvSize); // [nKv, Lk, dv]
      const gradients = variantGradientsOf(problem, false); // overwritten
      kernels.backward(onDevice(problem), {
        q: q.buffer,
        k: k.buffer,
        v: v.buffer,
        out: output.buffer,
        logSumExp: logSumExp.buffer,
        dOut: dOutput.buffer,
        dq: dq.buffer,
        dk: dk.buffer,
        dv: dv.buffer,
        attentionMask: maskOf(problem),
        ...variantsOf(problem),
        positionBiasGradient: bufferOf(gradients.positionBias),
        sinksGradient: bufferOf(gradients.sinks),
      });
      return { dq, dk, dv, ...gradients };
    },
    weights(problem, q, k, logSumExp, chosen) {
      if (!fits(problem)) return rows.weights(problem, q, k, logSumExp, chosen);
      const weights = backend.allocate(problem.n * chosen.length * problem.keyLength); // [n, R, Lk]
      kernels.weights(withoutValues(problem), chosen, {
        q: q.buffer,
        k: k.buffer,
        logSumExp: logSumExp.buffer,
        weights: weights.buffer,
        attentionMask: maskOf(problem),
        ...variantsOf(problem),
      });
      return weights;
    },
    weightsBackward(problem, q, k, chosen, weights, dWeights) {
      if (!fits(problem)) return rows.weightsBackward(problem, q, k, chosen, weights, dWeights);
      const { n, queryLength: Lq, keyLength: Lk, headDim: d, groupSize } = problem;
      const dq = backend.fill(n * Lq * d, 0); // [n, Lq, d]: the kernels accumulate
      const dk = backend.fill((n / groupSize) * Lk * d, 0); // [nKv, Lk, d]
      const gradients = variantGradientsOf(problem, true); // accumulated into
      kernels.weightsBackward(withoutValues(problem), chosen, {
        q: q.buffer,
        k: k.buffer,
        weights: weights.buffer,
        dWeights: dWeights.buffer,
        dq: dq.buffer,
        dk: dk.buffer,
        ...variantsOf(problem),
        positionBiasGradient: bufferOf(gradients.positionBias),
        sinksGradient: bufferOf(gradients.sinks),
      });
      return { dq, dk, ...gradients };
    },
  };
}
