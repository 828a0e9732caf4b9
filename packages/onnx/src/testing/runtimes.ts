import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import type { Tensor } from '@heed/tensor';

// The two ONNX Runtime builds the tests check against: the native CPU one (onnxruntime-node) and the
// WebAssembly one (onnxruntime-web, in Node: it loads its .wasm from its own dist folder, no network).

ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.proxy = false;
ortWeb.env.logLevel = 'error';
ortNode.env.logLevel = 'error';

export type RuntimeName = 'onnxruntime-node' | 'onnxruntime-web';
type Ort = typeof ortNode | typeof ortWeb;
const runtimes: Record<RuntimeName, Ort> = { 'onnxruntime-node': ortNode, 'onnxruntime-web': ortWeb };

export interface Feed {
  /** float: a heed Tensor; bool: a 0/1 heed Tensor fed as bool; int64: integer ids fed as int64. */
  tensor: Tensor;
  type: 'float' | 'bool' | 'int64';
}

/** Loads `bytes` in the runtime and runs it once per feed set; returns the first output's data each time. */
export async function runModel(
  runtime: RuntimeName,
  bytes: Uint8Array,
  feedSets: readonly Record<string, Feed>[],
): Promise<Float32Array[]> {
  return (await runModelOutputs(runtime, bytes, feedSets)).map((outputs) => outputs[0]!.data);
}

/** Loads `bytes` in the runtime and runs it once per feed set; returns every output (in graph order) each time. */
export async function runModelOutputs(
  runtime: RuntimeName,
  bytes: Uint8Array,
  feedSets: readonly Record<string, Feed>[],
): Promise<{ name: string; data: Float32Array; dims: number[] }[][]> {
  const ort = runtimes[runtime];
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [runtime === 'onnxruntime-node' ? 'cpu' : 'wasm'],
    logSeverityLevel: 3,
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const results: { name: string; data: Float32Array; dims: number[] }[][] = [];
    for (const feeds of feedSets) {
      const inputs: Record<string, ortNode.Tensor> = {};
      for (const [name, { tensor, type }] of Object.entries(feeds)) {
        const shape = [...tensor.shape];
        if (type === 'int64')
          inputs[name] = new ort.Tensor(
            'int64',
            BigInt64Array.from(tensor.data, (v) => BigInt(v)),
            shape,
          ) as ortNode.Tensor;
        else if (type === 'bool')
          inputs[name] = new ort.Tensor(
            'bool',
            Uint8Array.from(tensor.data, (v) => (v !== 0 ? 1 : 0)),
            shape,
          ) as ortNode.Tensor;
        else inputs[name] = new ort.Tensor('float32', Float32Array.from(tensor.data), shape) as ortNode.Tensor;
      }
      const output = await session.run(inputs as never);
      results.push(
        session.outputNames.map((name) => {
          const t = output[name] as ortNode.Tensor;
          return { name, data: Float32Array.from(t.data as Float32Array), dims: [...t.dims] };
        }),
      );
    }
    return results;
  } finally {
    await session.release();
  }
}

/** max |a − ref| / max |ref| (the bench's measure); NaN anywhere gives Infinity. */
export function relativeError(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) return Infinity;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - ref[i]!);
    if (Number.isNaN(d)) return Infinity;
    maxDiff = Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}
