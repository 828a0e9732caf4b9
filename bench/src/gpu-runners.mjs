// The implementations of `pnpm bench --gpu` that run in Node and in a browser page alike (no Node API here):
// heed on WebGPU and on WebAssembly (1 thread), tfjs-backend-webgpu, onnxruntime-web's WebGPU provider.
// Each factory returns { info, prepare(L, inputs) -> { run(keep): Promise<Float32Array | null>, dispose() } }:
// run(true) returns the compared values (mha: the output [1, L, 512]; train: dL/dWq [512, 512] of that step),
// run(false) only waits until the work is done (a train step: until the updated weights can be read).
// `gpu` is navigator.gpu, or the `webgpu` package's GPU in Node.

import { HEAD_DIM, HEADS, MODEL_DIM, SCALE, makeWeights, transposed } from './problem.mjs';
import { mhaContribModel } from './onnx.mjs';

const NAMES = { wq: 'queryProjection', wk: 'keyProjection', wv: 'valueProjection', wo: 'outputProjection' };

/** vendor / architecture / device / description of a GPUAdapterInfo (empty fields left out). */
export function adapterName(info) {
  if (!info) return 'unknown adapter';
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unnamed adapter';
}

/** heed: device 'webgpu' (through @heed/webgpu on `gpu`) or 'cpu' (its WebAssembly kernels, one thread). */
export async function createHeed(deviceName, task, { gpu }) {
  const T = await import('@heed/tensor');
  const { MultiHeadAttention } = await import('@heed/multi-head');
  let detail;
  let adapter = null;
  if (deviceName === 'webgpu') {
    const { requestGpuDevice, useWebGpu } = await import('@heed/webgpu');
    const requested = await requestGpuDevice({ gpu, powerPreference: 'high-performance', optionalFeatures: ['subgroups'] });
    useWebGpu(requested.device);
    adapter = adapterName(requested.adapter.info);
    detail = `@heed/webgpu on ${adapter}; features [${[...requested.features].join(', ')}]`;
  } else {
    const build = await T.useWasmKernels({ relaxedSimd: true, threads: 1 });
    detail = build
      ? `WebAssembly ${build.simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD-128'}, ${build.threads} thread`
      : 'JS kernels (no wasm)';
  }
  const W = makeWeights();
  const layerOn = async () => {
    const layer = new MultiHeadAttention({ embedDim: MODEL_DIM, numHeads: HEADS });
    for (const [short, field] of Object.entries(NAMES)) {
      layer[field].weight.data.set(W[short]);
      layer[field].bias.data.set(W[`b${short.slice(1)}`]);
    }
    return layer.toDevice(deviceName);
  };
  return {
    info: { detail, adapter },
    async prepare(L, inputs) {
      const layer = await layerOn();
      const x = await T.toDevice(new T.Tensor(inputs.x, [1, L, MODEL_DIM]), deviceName); // [1, L, 512]
      const options = { needWeights: false };
      if (task === 'mha') {
        return {
          run: async () => T.noGrad(() => layer.forward(x, x, x, options).output).read(), // [1, L, 512]
          dispose() {},
        };
      }
      const g = await T.toDevice(new T.Tensor(inputs.g, [1, L, MODEL_DIM]), deviceName); // [1, L, 512]
      const optimizer = new T.Adam(layer.parameters(), { lr: 1e-4 });
      const first = layer.queryProjection.weight;
      return {
        async run(keep) {
          optimizer.zeroGrad();
          const out = layer.forward(x, x, x, options).output; // [1, L, 512]
          out.backward(g); // loss Σ out ⊙ g
          const gradient = keep ? await first.grad.read() : null; // dL/dWq [512, 512]
          optimizer.step();
          await first.read(); // waits for the step
          return gradient;
        },
        dispose() {},
      };
    },
  };
}

/** tfjs-backend-webgpu, the batched form (heads as a batch of [L, dh] matrices, kᵀ as a transposed operand). */
export async function createTfjsWebgpu(task) {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu'); // registers 'webgpu' when navigator.gpu exists
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialise');
  await tf.ready();
  const adapter = adapterName(tf.backend().adapterInfo);
  const d = MODEL_DIM;
  const w = makeWeights();
  const W = {};
  const initial = {};
  for (const p of ['q', 'k', 'v', 'o']) {
    initial[`w${p}`] = tf.tensor2d(transposed(w[`w${p}`], d, d), [d, d]); // x · Wᵀ as a plain matMul
    initial[`b${p}`] = tf.tensor1d(w[`b${p}`]);
  }
  for (const [name, value] of Object.entries(initial)) W[name] = task === 'train' ? tf.variable(value.clone()) : value;
  const toHeads = (t, L) => tf.transpose(tf.reshape(t, [L, HEADS, HEAD_DIM]), [1, 0, 2]); // [L, 512] -> [H, L, dh]
  const forward = (x, L) =>
    tf.tidy(() => {
      const q = toHeads(tf.mul(tf.add(tf.matMul(x, W.wq), W.bq), SCALE), L); // [H, L, dh]
      const k = toHeads(tf.add(tf.matMul(x, W.wk), W.bk), L); // [H, L, dh]
      const v = toHeads(tf.add(tf.matMul(x, W.wv), W.bv), L); // [H, L, dh]
      const context = tf.matMul(tf.softmax(tf.matMul(q, k, false, true)), v); // [H, L, L] -> [H, L, dh]
      const merged = tf.reshape(tf.transpose(context, [1, 0, 2]), [L, d]); // [L, 512]
      return tf.add(tf.matMul(merged, W.wo), W.bo); // [L, 512]
    });
  return {
    info: { detail: `tfjs ${tf.version.tfjs}, webgpu backend on ${adapter}`, adapter },
    async prepare(L, inputs) {
      const x = tf.tensor2d(inputs.x, [L, d]); // [L, 512]
      if (task === 'mha') {
        return {
          async run() {
            const out = forward(x, L); // [L, 512]
            const data = await out.data();
            out.dispose();
            return data;
          },
          dispose: () => x.dispose(),
        };
      }
      for (const [name, value] of Object.entries(initial)) W[name].assign(value); // every L starts from the same weights, as heed's
      const g = tf.tensor2d(inputs.g, [L, d]); // [L, 512]
      const optimizer = tf.train.adam(1e-4);
      const variables = Object.values(W);
      return {
        async run(keep) {
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(x, L), g)), variables);
          // tfjs holds Wᵀ: its gradient is transposed back to heed's [out, in] layout.
          const gradient = keep ? transposed(await grads[W.wq.name].data(), d, d) : null;
          optimizer.applyGradients(grads);
          for (const t of Object.values(grads)) t.dispose();
          value.dispose();
          await W.wq.data(); // waits for the step
          return gradient;
        },
        dispose() {
          x.dispose();
          g.dispose();
          optimizer.dispose();
        },
      };
    },
  };
}

/**
 * onnxruntime-web's WebGPU execution provider on the com.microsoft.MultiHeadAttention graph (onnx.mjs).
 * `ort`: the module of `onnxruntime-web/webgpu`; `wasmPaths`: where its .wasm lies (a page's URL), or undefined.
 */
export async function createOrtWebGpu(task, ort, { wasmPaths } = {}) {
  if (task !== 'mha') throw new Error('onnxruntime-web has no training API');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  if (wasmPaths) ort.env.wasm.wasmPaths = wasmPaths;
  ort.env.logLevel = 'error';
  const weights = makeWeights();
  let adapter = null;
  return {
    info: { detail: `onnxruntime-web ${ort.env.versions?.web ?? '?'}, webgpu EP, com.microsoft.MultiHeadAttention`, adapter },
    async prepare(L, inputs) {
      const session = await ort.InferenceSession.create(mhaContribModel(L, weights), {
        executionProviders: ['webgpu'],
        graphOptimizationLevel: 'all',
      });
      adapter ??= ort.env.webgpu?.adapter?.info ? adapterName(ort.env.webgpu.adapter.info) : null;
      const feeds = { x: new ort.Tensor('float32', inputs.x, [1, L, MODEL_DIM]) };
      return {
        run: async () => (await session.run(feeds, ['out'])).out.data, // [1, L, 512]
        dispose: () => session.release(),
      };
    },
  };
}
