// "heed-trained, served by ONNX Runtime": heed's own modules, exported by @heed/onnx, run by
// onnxruntime-node (native CPU provider). Unlike the hand-written peer graphs of onnx.mjs, these
// graphs are exactly what a user of `exportToOnnx` gets: MultiHeadAttention(512, 8) holding the
// bench's weights (task mha), and an `attend` configuration with scaled-dot scores on 8 heads of 64
// (task sdpa); one model per task with dynamic batch and length axes, loaded once, fed every length.
//
//   mha:  x [1, L, 512] -> output [1, L, 512]       (query = key = value = x)
//   sdpa: q, k, v [1, 8, L, 64] -> context [1, 8, L, 64]

import { MultiHeadAttention } from '@heed/multi-head';
import { exportToOnnx } from '@heed/onnx';
import * as ort from 'onnxruntime-node';
import { HEAD_DIM, HEADS, MODEL_DIM, makeWeights } from './problem.mjs';

/** heed's parameter name of each bench weight. */
const PARAMETER_NAMES = {
  wq: 'queryProjection.weight',
  bq: 'queryProjection.bias',
  wk: 'keyProjection.weight',
  bk: 'keyProjection.bias',
  wv: 'valueProjection.weight',
  bv: 'valueProjection.bias',
  wo: 'outputProjection.weight',
  bo: 'outputProjection.bias',
};

/** MultiHeadAttention(512, 8) holding the bench's weights (PyTorch layout, as heed's Linear), in eval mode. */
export function benchLayer() {
  const layer = new MultiHeadAttention({ embedDim: MODEL_DIM, numHeads: HEADS });
  const parameters = new Map(layer.namedParameters());
  const weights = makeWeights();
  for (const [key, name] of Object.entries(PARAMETER_NAMES)) {
    const parameter = parameters.get(name);
    if (!parameter) throw new Error(`MultiHeadAttention has no parameter ${name}`);
    parameter.data.set(weights[key]);
  }
  layer.eval();
  return layer;
}

/** The .onnx bytes of a task: heed's module (mha) or an attend configuration (sdpa), exported. */
export function exportedModel(task, { causal = false, target = 'standard' } = {}) {
  if (task === 'mha') return exportToOnnx(benchLayer(), { causal, target });
  return exportToOnnx({ scorer: { kind: 'scaled-dot' } }, { causal, target, dims: { queryDim: HEAD_DIM, numHeads: HEADS } });
}

/** The row's setup: { info, prepare(L, inputs) -> { run(): Promise<Float32Array>, dispose() } }. */
export async function createHeedOnnx(threads, task, { causal = false } = {}) {
  if (task === 'train') throw new Error('onnxruntime-node has no training API');
  const { bytes, attentionOp } = exportedModel(task, { causal });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const source = task === 'mha' ? 'MultiHeadAttention' : "attend({ scorer: 'scaled-dot' })";
  return {
    info: {
      kernels: `cpu EP, intraOpNumThreads ${threads}, onnxruntime-node ${ort.env.versions?.node ?? '?'}`,
      build: { kind: 'native', threads, source: 'intraOpNumThreads' },
      path: `exportToOnnx(${source}${causal ? ', { causal: true }' : ''}): ai.onnx ${attentionOp} (opset 23), dynamic axes, ${bytes.length} bytes`,
    },
    async prepare(L, inputs) {
      const feeds = {};
      if (task === 'mha') {
        const x = new ort.Tensor('float32', inputs.x, [1, L, MODEL_DIM]);
        Object.assign(feeds, { query: x, key: x, value: x });
      } else {
        const shape = [1, HEADS, L, HEAD_DIM];
        Object.assign(feeds, {
          query: new ort.Tensor('float32', inputs.q, shape),
          keys: new ort.Tensor('float32', inputs.k, shape),
          values: new ort.Tensor('float32', inputs.v, shape),
        });
      }
      const outputName = session.outputNames[0];
      return {
        run: async () => (await session.run(feeds))[outputName].data,
      };
    },
  };
}
