import type {
  DeviceAdamStep,
  DeviceAttentionProblem,
  DeviceBackend,
  DeviceBinaryOp,
  DeviceMatmulProblem,
  DeviceReduceOp,
  DeviceSgdStep,
  DeviceStorage,
  DeviceUnaryOp,
  StridedOperand,
} from '../device/device-backend';
import type { AttentionProblem } from '../kernels/attention';
import { plainKernels } from '../kernels/registry';

// Test-only (exported from @heed/tensor/testing): a device backend whose storage is a Float32Array in host memory,
// behind the DeviceStorage interface. Register it and tensors moved to it take every op's device branch, so device
// code (the seam, a model, an optimizer loop) is tested without a GPU. It is a reference, not a fast path: the
// strided reads, elementwise ops, where and the optimizer steps are plain loops written here from the interface's
// definitions; matmul, reductions, softmax and attention run the plain TypeScript kernels ('js').

/** Storage of the host device: its values, owned by the backend that made them. */
export interface HostDeviceStorage extends DeviceStorage {
  readonly values: Float32Array;
}

/** A host device backend and what it has done: how many storages it made (uploads included) and released. */
export interface HostDeviceBackend extends DeviceBackend {
  readonly allocated: number;
  readonly released: number;
  /** out[i] = x[source[i]]. */
  gather(x: DeviceStorage, source: Int32Array): DeviceStorage;
  /** out[j] = Σ g[i] over the i with source[i] = j, in increasing i; `size` elements. */
  scatterAdd(g: DeviceStorage, source: Int32Array, size: number): DeviceStorage;
}

/** Size of a shape, 1 for rank 0. */
function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Element offsets of `x` for each output index of `shape` (row-major). */
function offsetsOf(x: StridedOperand, shape: readonly number[]): Int32Array {
  const out = new Int32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    let rest = i;
    let at = x.offset;
    for (let d = shape.length - 1; d >= 0; d--) {
      at += (rest % shape[d]!) * x.strides[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    out[i] = at;
  }
  return out;
}

function applyBinary(op: DeviceBinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add':
      return a + b;
    case 'sub':
      return a - b;
    case 'mul':
      return a * b;
    case 'div':
      return a / b;
    case 'pow':
      return a ** b;
    case 'maximum':
      return Math.max(a, b);
    case 'equal':
      return a === b ? 1 : 0;
  }
}

function applyUnary(op: DeviceUnaryOp, x: number): number {
  switch (op) {
    case 'neg':
      return -x;
    case 'exp':
      return Math.exp(x);
    case 'log':
      return Math.log(x);
    case 'tanh':
      return Math.tanh(x);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'relu':
      return x > 0 ? x : 0;
    case 'sqrt':
      return Math.sqrt(x);
    case 'abs':
      return Math.abs(x);
    case 'step':
      return x > 0 ? 1 : 0;
    case 'sign':
      return Math.sign(x);
    case 'finite':
      return x === Number.NEGATIVE_INFINITY ? 0 : 1;
  }
}

/**
 * A `DeviceBackend` named `name` that keeps values in host memory (register it with `registerDevice`, then
 * `await toDevice(t, name)`): data on it cannot be read synchronously, ops on it dispatch through the backend, and
 * mixing it with CPU tensors is refused, as on a GPU. `attentionVariants`: the constant score variants it reads.
 */
export function createHostDeviceBackend(
  name = 'host',
  attentionVariants: readonly string[] = ['alibiSlopes', 'softcap', 'querySegments', 'positionBias', 'sinks'],
): HostDeviceBackend {
  let allocated = 0;
  let released = 0;
  const store = (values: Float32Array): HostDeviceStorage => {
    allocated++;
    return { device: name, size: values.length, values };
  };
  const valuesOf = (storage: DeviceStorage): Float32Array => {
    if (storage.device !== name || !((storage as HostDeviceStorage).values instanceof Float32Array))
      throw new Error(`host device '${name}' was handed storage of device '${storage.device}'`);
    return (storage as HostDeviceStorage).values;
  };
  /** The problem as the CPU kernels read it: the mask back in host memory. */
  const hostProblem = (problem: DeviceAttentionProblem): AttentionProblem => ({
    ...problem,
    attentionMask: problem.attentionMask && valuesOf(problem.attentionMask),
    positionBias: problem.positionBias ? valuesOf(problem.positionBias) : null,
    sinks: problem.sinks ? valuesOf(problem.sinks) : null,
  });
  /** Zeroed host gradients of the problem's learned variant parameters, and their storages once written. */
  const variantGradients = (problem: DeviceAttentionProblem) => {
    const host = {
      positionBias: problem.positionBias ? new Float32Array(problem.positionBias.size) : null, // [H, Lq + Lk − 1]
      sinks: problem.sinks ? new Float32Array(problem.sinks.size) : null, // [H]
    };
    const stored = () => ({
      ...(host.positionBias && { positionBias: store(host.positionBias) }),
      ...(host.sinks && { sinks: store(host.sinks) }),
    });
    return { host, stored };
  };
  const kvSlices = (problem: DeviceAttentionProblem): number => problem.n / problem.groupSize;
  const kernels = plainKernels();

  const backend: HostDeviceBackend = {
    name,
    attentionVariants,
    get allocated() {
      return allocated;
    },
    get released() {
      return released;
    },
    upload: (data) => store(data.slice()),
    read: async (storage) => valuesOf(storage).slice(),
    fill: (size, value) => store(new Float32Array(size).fill(value)),
    copy: (x, shape) => {
      const source = valuesOf(x.storage);
      const at = offsetsOf(x, shape);
      const out = new Float32Array(at.length);
      for (let i = 0; i < out.length; i++) out[i] = source[at[i]!]!;
      return store(out);
    },
    writeBlocks: (source, target, outer, width, targetStride, targetOffset) => {
      const [from, to] = [valuesOf(source), valuesOf(target)];
      for (let o = 0; o < outer; o++) for (let j = 0; j < width; j++) to[targetOffset + o * targetStride + j] = from[o * width + j]!;
    },
    binary: (op, a, b, shape) => {
      const [x, y] = [valuesOf(a.storage), valuesOf(b.storage)];
      const [ia, ib] = [offsetsOf(a, shape), offsetsOf(b, shape)];
      const out = new Float32Array(ia.length);
      for (let i = 0; i < out.length; i++) out[i] = applyBinary(op, x[ia[i]!]!, y[ib[i]!]!);
      return store(out);
    },
    where: (condition, a, b, shape) => {
      const [c, x, y] = [valuesOf(condition.storage), valuesOf(a.storage), valuesOf(b.storage)];
      const [ic, ia, ib] = [offsetsOf(condition, shape), offsetsOf(a, shape), offsetsOf(b, shape)];
      const out = new Float32Array(ic.length);
      for (let i = 0; i < out.length; i++) out[i] = c[ic[i]!]! !== 0 ? x[ia[i]!]! : y[ib[i]!]!;
      return store(out);
    },
    unary: (op, x) => store(valuesOf(x).map((v) => applyUnary(op, v))),
    reduceAxis: (op: DeviceReduceOp, x, outer, n, inner) => {
      const source = valuesOf(x);
      const out = new Float32Array(outer * inner); // [outer, inner]
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let acc = op === 'sum' ? 0 : source[o * n * inner + i]!;
          for (let j = op === 'sum' ? 0 : 1; j < n; j++) {
            const v = source[(o * n + j) * inner + i]!;
            acc = op === 'sum' ? acc + v : op === 'max' ? Math.max(acc, v) : Math.min(acc, v);
          }
          out[o * inner + i] = acc;
        }
      }
      return store(out);
    },
    softmax: (x, outer, n, inner, log) => {
      const out = new Float32Array(outer * n * inner); // [outer, n, inner]
      kernels.softmax(valuesOf(x), outer, n, inner, out, log);
      return store(out);
    },
    matmul: (a, b, problem: DeviceMatmulProblem) => {
      const { m, n, k, transposeA, transposeB, aOffsets, bOffsets } = problem;
      const count = aOffsets.length;
      const out = new Float32Array(count * m * n); // [count, m, n]
      for (let t = 0; t < count; t++)
        kernels.matmul(valuesOf(a), aOffsets[t]!, valuesOf(b), bOffsets[t]!, out, t * m * n, m, n, k, transposeA, transposeB);
      return store(out);
    },
    attentionForward: (problem, q, k, v) => {
      const output = new Float32Array(problem.n * problem.queryLength * problem.valueDim); // [n, Lq, dv]
      const logSumExp = new Float32Array(problem.n * problem.queryLength); // [n, Lq]
      kernels.attentionForward(hostProblem(problem), valuesOf(q), valuesOf(k), valuesOf(v), output, logSumExp);
      return { output: store(output), logSumExp: store(logSumExp) };
    },
    attentionBackward: (problem, q, k, v, output, logSumExp, dOutput) => {
      const dq = new Float32Array(q.size); // [n, Lq, d]
      const dk = new Float32Array(kvSlices(problem) * problem.keyLength * problem.headDim); // [nKv, Lk, d]
      const dv = new Float32Array(kvSlices(problem) * problem.keyLength * problem.valueDim); // [nKv, Lk, dv]
      const host = hostProblem(problem);
      const variants = variantGradients(problem);
      kernels.attentionBackward(
        host,
        valuesOf(q),
        valuesOf(k),
        valuesOf(v),
        valuesOf(output),
        valuesOf(logSumExp),
        valuesOf(dOutput),
        dq,
        dk,
        dv,
        variants.host,
      );
      return { dq: store(dq), dk: store(dk), dv: store(dv), ...variants.stored() };
    },
    attentionWeights: (problem, q, k, logSumExp, rows) => {
      const out = new Float32Array(problem.n * rows.length * problem.keyLength); // [n, R, Lk]
      kernels.attentionWeights(hostProblem(problem), valuesOf(q), valuesOf(k), valuesOf(logSumExp), rows, out);
      return store(out);
    },
    attentionWeightsBackward: (problem, q, k, rows, weights, dWeights) => {
      const dq = new Float32Array(q.size); // [n, Lq, d]
      const dk = new Float32Array(kvSlices(problem) * problem.keyLength * problem.headDim); // [nKv, Lk, d]
      const variants = variantGradients(problem);
      kernels.attentionWeightsBackward(
        hostProblem(problem),
        valuesOf(q),
        valuesOf(k),
        rows,
        valuesOf(weights),
        valuesOf(dWeights),
        dq,
        dk,
        variants.host,
      );
      return { dq: store(dq), dk: store(dk), ...variants.stored() };
    },
    gather: (x, source) => {
      const values = valuesOf(x);
      return store(Float32Array.from(source, (at) => values[at]!));
    },
    scatterAdd: (g, source, size) => {
      const values = valuesOf(g);
      const out = new Float32Array(size);
      for (let i = 0; i < source.length; i++) out[source[i]!]! += values[i]!;
      return store(out);
    },
    adamStep: (theta, grad, m, v, step: DeviceAdamStep) => {
      const [p, g, m1, m2] = [valuesOf(theta), valuesOf(grad), valuesOf(m), valuesOf(v)];
      const { lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, c1, c2 } = step;
      for (let i = 0; i < p.length; i++) {
        // decoupled (AdamW): θ ← θ(1 − lr·λ); else the decay joins the gradient
        const gi = decoupledWeightDecay ? g[i]! : g[i]! + weightDecay * p[i]!;
        if (decoupledWeightDecay) p[i] = p[i]! * (1 - lr * weightDecay);
        m1[i] = beta1 * m1[i]! + (1 - beta1) * gi;
        m2[i] = beta2 * m2[i]! + (1 - beta2) * gi * gi;
        const mHat = m1[i]! / c1;
        const vHat = m2[i]! / c2;
        p[i] = p[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    },
    sgdStep: (theta, grad, buffer, step: DeviceSgdStep) => {
      const [p, g] = [valuesOf(theta), valuesOf(grad)];
      const b = buffer && valuesOf(buffer);
      const { lr, momentum, dampening, weightDecay, nesterov, first } = step;
      for (let i = 0; i < p.length; i++) {
        let d = g[i]! + weightDecay * p[i]!;
        if (b !== null) {
          b[i] = first ? d : momentum * b[i]! + (1 - dampening) * d;
          d = nesterov ? d + momentum * b[i]! : b[i]!;
        }
        p[i] = p[i]! - lr * d;
      }
    },
    checkFinite: (x, check) => {
      // The values are at hand: refused at once, at the call.
      const values = valuesOf(x);
      const outer = check.L * check.inner;
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (Math.floor((i % outer) / check.inner) < check.from) continue;
        if (Number.isNaN(v) || v === Infinity || (v === -Infinity && !check.allowNegativeInfinity)) throw check.error(i);
      }
    },
    release: (storage) => {
      valuesOf(storage);
      released++;
    },
  };
  return backend;
}
