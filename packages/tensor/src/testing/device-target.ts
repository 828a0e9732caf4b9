// Test-only (exported from @heed/tensor/testing): a registered device backend as a conformance target. Each call
// uploads its host inputs, runs the backend's method, reads the results back (awaiting the device) and gives every
// storage it made back to the backend.
import type { DeviceAttentionProblem, DeviceBackend, DeviceStorage } from '../device/device-backend';
import { toDevice } from '../device/to-device';
import type { AttentionProblem } from '../kernels/attention';
import { stridesOf } from '../shape';
import type { ConformanceTarget, ConformanceTolerances } from './conformance-target';

/** `backend` (registered under its name, for the ops) as a target with `tolerances`; `name` labels it in messages. */
export function deviceTarget(backend: DeviceBackend, tolerances: ConformanceTolerances, name = backend.name): ConformanceTarget {
  /** Runs `fn` with an uploader, then releases what was uploaded or returned. */
  async function session<T>(fn: (upload: (x: Float32Array) => DeviceStorage, own: (s: DeviceStorage) => DeviceStorage) => Promise<T>) {
    const made: DeviceStorage[] = [];
    const own = (s: DeviceStorage) => {
      made.push(s);
      return s;
    };
    try {
      return await fn((x) => own(backend.upload(x)), own);
    } finally {
      for (const s of made) backend.release?.(s);
    }
  }
  const problemOn = (p: AttentionProblem, upload: (x: Float32Array) => DeviceStorage): DeviceAttentionProblem => ({
    ...p,
    attentionMask: p.attentionMask ? upload(p.attentionMask) : null,
    positionBias: p.positionBias ? upload(p.positionBias) : null,
    sinks: p.sinks ? upload(p.sinks) : null,
  });
  const read = (s: DeviceStorage | null | undefined) => (s ? backend.read(s) : Promise.resolve(null));
  return {
    name,
    tolerances,
    attentionForward: (p, q, k, v) =>
      session(async (upload, own) => {
        const { output, logSumExp } = backend.attentionForward(problemOn(p, upload), upload(q), upload(k), upload(v));
        return { out: await backend.read(own(output)), lse: await backend.read(own(logSumExp)) };
      }),
    attentionBackward: (p, q, k, v, out, lse, dOut) =>
      session(async (upload, own) => {
        const g = backend.attentionBackward(problemOn(p, upload), upload(q), upload(k), upload(v), upload(out), upload(lse), upload(dOut));
        for (const s of [g.dq, g.dk, g.dv, g.positionBias, g.sinks]) if (s) own(s);
        const [dq, dk, dv] = await Promise.all([backend.read(g.dq), backend.read(g.dk), backend.read(g.dv)]);
        return { dq, dk, dv, positionBias: await read(g.positionBias), sinks: await read(g.sinks) };
      }),
    attentionWeights: (p, q, k, lse, rows) =>
      session(async (upload, own) =>
        backend.read(own(backend.attentionWeights(problemOn(p, upload), upload(q), upload(k), upload(lse), rows))),
      ),
    attentionWeightsBackward: (p, q, k, rows, weights, dWeights) =>
      session(async (upload, own) => {
        const g = backend.attentionWeightsBackward(problemOn(p, upload), upload(q), upload(k), rows, upload(weights), upload(dWeights));
        for (const s of [g.dq, g.dk, g.positionBias, g.sinks]) if (s) own(s);
        const [dq, dk] = await Promise.all([backend.read(g.dq), backend.read(g.dk)]);
        return { dq, dk, positionBias: await read(g.positionBias), sinks: await read(g.sinks) };
      }),
    matmul: (a, ao, b, bo, m, n, k, transposeA, transposeB, bias) =>
      session(async (upload, own) => {
        const problem = { m, n, k, transposeA, transposeB, aOffsets: Uint32Array.of(ao), bOffsets: Uint32Array.of(bo) };
        let out = own(backend.matmul(upload(a), upload(b), problem)); // [m, n]
        if (bias) {
          // The device has no fused bias: as `linear` does on a device, a broadcast add of the bias row.
          const row = { storage: upload(bias.subarray(0, n)), offset: 0, strides: [0, 1] };
          out = own(backend.binary('add', { storage: out, offset: 0, strides: stridesOf([m, n]) }, row, [m, n]));
        }
        return backend.read(out);
      }),
    softmax: (x, outer, n, inner, log) =>
      session(async (upload, own) => backend.read(own(backend.softmax(upload(x), outer, n, inner, log)))),
    reduceAxis: (op, x, outer, n, inner) =>
      session(async (upload, own) => backend.read(own(backend.reduceAxis(op, upload(x), outer, n, inner)))),
    binary: (op, a, aStrides, b, bStrides, outShape) =>
      session(async (upload, own) =>
        backend.read(
          own(
            backend.binary(
              op,
              { storage: upload(a), offset: 0, strides: aStrides },
              { storage: upload(b), offset: 0, strides: bStrides },
              outShape,
            ),
          ),
        ),
      ),
    unary: (op, x) => session(async (upload, own) => backend.read(own(backend.unary(op, upload(x))))),
    throughOps: (fn) => fn({ place: (t) => toDevice(t, backend.name), read: (t) => t.read() }),
  };
}
