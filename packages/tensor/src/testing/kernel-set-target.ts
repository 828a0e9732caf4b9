// Test-only (exported from @heed/tensor/testing): a CPU kernel set as a conformance target. Outputs start as NaN (so
// every element must be written); matmul writes into a padded buffer whose padding must stay untouched; the ops
// run with the set in use (`useKernelSet`), the JS set back in use afterwards.
import type { AttentionProblem } from '../kernels/attention';
import { BinaryOp, UnaryOp } from '../kernels/elementwise';
import { ReduceOp } from '../kernels/reduce';
import { getKernels, useKernelSet, type Kernels } from '../kernels/registry';
import {
  check,
  type ConformanceBinaryOp,
  type ConformanceTarget,
  type ConformanceTolerances,
  type ConformanceUnaryOp,
} from './conformance-target';

const BINARY: Record<ConformanceBinaryOp, BinaryOp> = {
  add: BinaryOp.Add,
  sub: BinaryOp.Sub,
  mul: BinaryOp.Mul,
  div: BinaryOp.Div,
  pow: BinaryOp.Pow,
  maximum: BinaryOp.Maximum,
};
const UNARY: Record<ConformanceUnaryOp, UnaryOp> = {
  neg: UnaryOp.Neg,
  exp: UnaryOp.Exp,
  log: UnaryOp.Log,
  tanh: UnaryOp.Tanh,
  sigmoid: UnaryOp.Sigmoid,
  relu: UnaryOp.Relu,
  sqrt: UnaryOp.Sqrt,
  abs: UnaryOp.Abs,
};
const REDUCE = { sum: ReduceOp.Sum, max: ReduceOp.Max, min: ReduceOp.Min } as const;

const nans = (size: number) => new Float32Array(size).fill(NaN);

/** The kernels of the set registered as `name` (resolved, 'js' filling in) as a target with `tolerances`. */
export function kernelSetTarget(name: string, kernels: Readonly<Kernels>, tolerances: ConformanceTolerances): ConformanceTarget {
  const variantGradients = (p: AttentionProblem) => ({
    positionBias: p.positionBias ? nans(p.positionBias.length) : null,
    sinks: p.sinks ? nans(p.heads ?? 1) : null,
  });
  return {
    name,
    tolerances,
    async attentionForward(p, q, k, v) {
      const out = nans(p.n * p.queryLength * p.valueDim);
      const lse = nans(p.n * p.queryLength);
      kernels.attentionForward(p, q, k, v, out, lse);
      return { out, lse };
    },
    async attentionBackward(p, q, k, v, out, lse, dOut) {
      const nKv = p.n / p.groupSize;
      const [dq, dk, dv] = [nans(q.length), nans(nKv * p.keyLength * p.headDim), nans(nKv * p.keyLength * p.valueDim)];
      const grads = variantGradients(p);
      kernels.attentionBackward(p, q, k, v, out, lse, dOut, dq, dk, dv, grads);
      return { dq, dk, dv, ...grads };
    },
    async attentionWeights(p, q, k, lse, rows) {
      const weights = nans(p.n * rows.length * p.keyLength); // [n, R, Lk]
      kernels.attentionWeights(p, q, k, lse, rows, weights);
      return weights;
    },
    async attentionWeightsBackward(p, q, k, rows, weights, dWeights) {
      const [dq, dk] = [new Float32Array(q.length), new Float32Array(k.length)]; // accumulated into
      const grads = {
        positionBias: p.positionBias ? new Float32Array(p.positionBias.length) : null,
        sinks: p.sinks ? new Float32Array(p.heads ?? 1) : null,
      };
      kernels.attentionWeightsBackward(p, q, k, rows, weights, dWeights, dq, dk, grads);
      return { dq, dk, ...grads };
    },
    async matmul(a, ao, b, bo, m, n, k, transposeA, transposeB, bias) {
      const [before, after] = [7, 4];
      const out = nans(before + m * n + after); // every written cell must be overwritten, nothing around it touched
      if (bias === undefined) kernels.matmul(a, ao, b, bo, out, before, m, n, k, transposeA, transposeB);
      else kernels.matmul(a, ao, b, bo, out, before, m, n, k, transposeA, transposeB, bias);
      const untouched = [...out.subarray(0, before), ...out.subarray(before + m * n)].every(Number.isNaN);
      check(untouched, `${name} matmul ${m}×${n}×${k}: wrote outside its output`);
      return out.slice(before, before + m * n);
    },
    async softmax(x, outer, n, inner, log) {
      const out = nans(x.length);
      kernels.softmax(x, outer, n, inner, out, log);
      return out;
    },
    async reduceAxis(op, x, outer, n, inner) {
      const out = new Float32Array(outer * inner).fill(12345);
      kernels.reduceAxis(REDUCE[op], x, outer, n, inner, out);
      return out;
    },
    async binary(op, a, aStrides, b, bStrides, outShape) {
      const out = nans(outShape.reduce((s, d) => s * d, 1));
      kernels.binary(BINARY[op], a, aStrides, b, bStrides, outShape, out);
      return out;
    },
    async unary(op, x) {
      const out = new Float32Array(x.length).fill(12345);
      kernels.unary(UNARY[op], x, out);
      return out;
    },
    async throughOps(fn) {
      useKernelSet(name);
      try {
        check(getKernels().attentionForward === kernels.attentionForward, `the ops do not reach the kernels of '${name}'`);
        return await fn({ place: async (t) => t, read: async (t) => t.data.slice() });
      } finally {
        useKernelSet('js');
      }
    },
  };
}
