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
  const tiled: GpuAttentionKernels = {
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
  return withEmptyFeatures(backend, tiled);
}

/**
 * d = 0 or dv = 0, which the kernels refuse (a row lives in registers): the same problem with one zero feature in
 * place of the empty ones — every score q·k = 0, every value 0, as with no features — on `kernels`; the results of
 * the stand-in feature (dq and dk for d = 0; the output and dv for dv = 0) come back empty.
 */
function withEmptyFeatures(backend: WebGpuBackend, kernels: GpuAttentionKernels): GpuAttentionKernels {
  const empty = (problem: DeviceAttentionProblem) => problem.headDim === 0 || problem.valueDim === 0;
  const padded = (problem: DeviceAttentionProblem): DeviceAttentionProblem => ({
    ...problem,
    headDim: Math.max(problem.headDim, 1),
    valueDim: Math.max(problem.valueDim, 1),
  });
  /** The operands with zeros for an empty feature: q, k [·, 1] when d = 0; v, out, dOut [·, 1] when dv = 0. */
  const operands = (problem: DeviceAttentionProblem, q: GpuStorage, k: GpuStorage) => {
    const { n, queryLength: Lq, keyLength: Lk, groupSize } = problem;
    const zeros = (size: number) => backend.fill(size, 0);
    const noKeys = problem.headDim === 0;
    return {
      q: noKeys ? zeros(n * Lq) : q, // [n, Lq, 1]
      k: noKeys ? zeros((n / groupSize) * Lk) : k, // [nKv, Lk, 1]
      value: (v: GpuStorage) => (problem.valueDim === 0 ? zeros((n / groupSize) * Lk) : v), // [nKv, Lk, 1]
      row: (x: GpuStorage) => (problem.valueDim === 0 ? zeros(n * Lq) : x), // out, dOut [n, Lq, 1]
    };
  };
  const drop = (keep: boolean, storage: GpuStorage) => (keep ? storage : backend.allocate(0));
  return {
    forward(problem, q, k, v) {
      if (!empty(problem)) return kernels.forward(problem, q, k, v);
      const o = operands(problem, q, k);
      const { output, logSumExp } = kernels.forward(padded(problem), o.q, o.k, o.value(v));
      return { output: drop(problem.valueDim > 0, output), logSumExp };
    },
    backward(problem, q, k, v, output, logSumExp, dOutput) {
      if (!empty(problem)) return kernels.backward(problem, q, k, v, output, logSumExp, dOutput);
      const o = operands(problem, q, k);
      const g = kernels.backward(padded(problem), o.q, o.k, o.value(v), o.row(output), logSumExp, o.row(dOutput));
      const hasKeys = problem.headDim > 0;
      return { ...g, dq: drop(hasKeys, g.dq), dk: drop(hasKeys, g.dk), dv: drop(problem.valueDim > 0, g.dv) };
    },
    weights(problem, q, k, logSumExp, rows) {
      if (problem.headDim > 0) return kernels.weights(problem, q, k, logSumExp, rows);
      const o = operands(problem, q, k);
      return kernels.weights(padded(problem), o.q, o.k, logSumExp, rows);
    },
    weightsBackward(problem, q, k, rows, weights, dWeights) {
      if (problem.headDim > 0) return kernels.weightsBackward(problem, q, k, rows, weights, dWeights);
      const o = operands(problem, q, k);
      const g = kernels.weightsBackward(padded(problem), o.q, o.k, rows, weights, dWeights);
      return { ...g, dq: backend.allocate(0), dk: backend.allocate(0) };
    },
  };
}
