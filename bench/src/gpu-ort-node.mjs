// onnxruntime-node's WebGPU execution provider (linux-x64 prebuilt binaries carry it, with Dawn linked into
// libonnxruntime: it picks its own adapter through the Vulkan loader, not the `webgpu` package's). Two graphs
// of the same layer: the fused com.microsoft.MultiHeadAttention (FlashAttention on adapters with subgroups) and
// the plain MatMul / Softmax graph of the CPU bench (onnx.mjs).

import * as ort from 'onnxruntime-node';
import { mhaContribModel, mhaModel } from './onnx.mjs';
import { MODEL_DIM, makeWeights } from './problem.mjs';

export async function createOrtNodeWebGpu(task, graph) {
  if (task !== 'mha') throw new Error('onnxruntime-node has no training API');
  const webgpu = ort.listSupportedBackends?.().find((b) => b.name === 'webgpu');
  if (!webgpu) throw new Error(`this onnxruntime-node build (${process.platform}-${process.arch}) has no WebGPU execution provider`);
  const weights = makeWeights();
  const model = graph === 'contrib' ? mhaContribModel : mhaModel;
  return {
    info: {
      detail: `onnxruntime-node ${ort.env.versions?.node ?? '?'}, webgpu EP (its own Dawn), ${graph === 'contrib' ? 'com.microsoft.MultiHeadAttention' : 'MatMul/Softmax graph, opset 17'}`,
      adapter: null,
    },
    async prepare(L, inputs) {
      const session = await ort.InferenceSession.create(model(L, weights), {
        executionProviders: ['webgpu'],
        graphOptimizationLevel: 'all',
      });
      const feeds = { x: new ort.Tensor('float32', inputs.x, [1, L, MODEL_DIM]) };
      return {
        run: async () => (await session.run(feeds, ['out'])).out.data, // [1, L, 512]
        dispose: () => session.release(),
      };
    },
  };
}
