// One ONNX Runtime peer on the graphs built in code (see onnx.mjs): standard MatMul/Add/Reshape/
// Transpose/Softmax/Mul nodes, opset 17, weights as initializers with heed's values. One session
// per sequence length (static shapes). Shared by onnxruntime-node (impl-ort.mjs) and
// onnxruntime-web (impl-ort-web.mjs): both take the same `InferenceSession` / `Tensor` API.

import { HEAD_DIM, HEADS, MODEL_DIM, causalAdditiveMask, makeWeights } from './problem.mjs';
import { mhaModel, sdpaModel } from './onnx.mjs';

/**
 * ort: the runtime module; sessionOptions: its InferenceSession options; info: { kernels, build }.
 * Returns { info, prepare(L, inputs) -> { run(): Promise<Float32Array>, dispose() } }.
 */
export function ortPeer(ort, sessionOptions, info, task, { causal = false } = {}) {
  if (task === 'train') throw new Error('the ONNX Runtime inference packages have no training API');
  const weights = task === 'mha' ? makeWeights() : null;
  return {
    info: { ...info, path: `ONNX graph (opset 17, ${task === 'mha' ? 'MHA' : 'SDPA'})` },
    async prepare(L, inputs) {
      const bytes = task === 'mha' ? mhaModel(L, weights, { causal }) : sdpaModel(L, { causal });
      const session = await ort.InferenceSession.create(bytes, sessionOptions);
      const feeds = {};
      if (task === 'mha') {
        feeds.x = new ort.Tensor('float32', inputs.x, [1, L, MODEL_DIM]);
      } else {
        const shape = [1, HEADS, L, HEAD_DIM];
        feeds.q = new ort.Tensor('float32', inputs.q, shape);
        feeds.k = new ort.Tensor('float32', inputs.k, shape);
        feeds.v = new ort.Tensor('float32', inputs.v, shape);
      }
      if (causal) feeds.mask = new ort.Tensor('float32', causalAdditiveMask(L), [L, L]);
      return {
        run: async () => {
          const result = await session.run(feeds);
          return result.out.data;
        },
        dispose: () => session.release(),
      };
    },
  };
}
