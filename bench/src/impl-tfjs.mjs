// TensorFlow.js: the cpu backend (pure JS) and the wasm backend (XNNPACK, SIMD), each written
// the way its users would. Two forms on wasm:
//   batched  — the obvious one: heads as a batch, [H, L, dh] batched matMuls, kᵀ as a transposed operand;
//   per head — its fastest form: one plain 2-D matMul per head for scores and for the weighted sum.
// The output is read back with dataSync() inside the timed region (the result must exist in memory).

import * as tf from '@tensorflow/tfjs'; // core + cpu backend + every op's gradient (tf.variableGrads)
import '@tensorflow/tfjs-backend-wasm';
import { HEAD_DIM, HEADS, MODEL_DIM, SCALE, causalAdditiveMask, makeWeights, transposed } from './problem.mjs';
import { osThreadCount, threadsStarted } from './os-threads.mjs';

/** Switches tfjs to a backend; returns { kernels, build } (the build from what the backend reports). */
async function useBackend(name) {
  const before = osThreadCount();
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to initialise`);
  await tf.ready();
  if (name === 'wasm') {
    const simd = tf.env().getAsync ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : undefined;
    const threads = tf.env().getAsync ? await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') : undefined;
    const started = threads ? threadsStarted(before, osThreadCount(), Infinity) : 1;
    const build = {
      kind: 'wasm',
      simd: simd ? 'plain' : 'none',
      threads: started,
      source: 'tfjs flags WASM_HAS_SIMD_SUPPORT, WASM_HAS_MULTITHREAD_SUPPORT',
    };
    return { kernels: `wasm (SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'})`, build };
  }
  return { kernels: name, build: { kind: 'js', threads: 1, source: `tfjs backend ${name}` } };
}

/** Per-head attention on 2-D [L, 512] q, k, v: plain matMuls, kᵀ sliced from one transpose. */
function attentionPerHead(q, k, v, mask) {
  const kT = tf.transpose(k); // [512, L]
  const L = q.shape[0];
  const heads = [];
  for (let h = 0; h < HEADS; h++) {
    const qh = tf.slice(q, [0, h * HEAD_DIM], [L, HEAD_DIM]); // [L, dh]
    const kTh = tf.slice(kT, [h * HEAD_DIM, 0], [HEAD_DIM, L]); // [dh, L]
    const vh = tf.slice(v, [0, h * HEAD_DIM], [L, HEAD_DIM]); // [L, dh]
    let s = tf.matMul(qh, kTh); // [L, L]
    if (mask) s = tf.add(s, mask);
    heads.push(tf.matMul(tf.softmax(s), vh)); // [L, dh]
  }
  return tf.concat(heads, 1); // [L, 512]
}

/** Batched attention on [H, L, dh]: one batched matMul with kᵀ as a transposed operand. */
function attentionBatched(q3, k3, v3, mask) {
  let s = tf.matMul(q3, k3, false, true); // [H, L, L]
  if (mask) s = tf.add(s, mask);
  return tf.matMul(tf.softmax(s), v3); // [H, L, dh]
}

const toHeads = (t, L) => tf.transpose(tf.reshape(t, [L, HEADS, HEAD_DIM]), [1, 0, 2]); // [L, 512] -> [H, L, dh]
const fromHeads = (t, L) => tf.reshape(tf.transpose(t, [1, 0, 2]), [L, MODEL_DIM]); // [H, L, dh] -> [L, 512]

/**
 * backend 'cpu' | 'wasm'; form 'batched' | 'perhead'.
 * Returns { info, prepare(L, inputs) -> { run(): Float32Array, dispose() } }.
 */
export async function createTfjs(backend, form, task, { causal = false } = {}) {
  const { kernels, build } = await useBackend(backend);
  const d = MODEL_DIM;
  const w = makeWeights();
  const W = {};
  for (const p of ['q', 'k', 'v', 'o']) {
    const t = tf.tensor2d(transposed(w[`w${p}`], d, d), [d, d]); // x · Wᵀ as a plain matMul
    W[`w${p}`] = task === 'train' ? tf.variable(t) : t;
    const b = tf.tensor1d(w[`b${p}`]);
    W[`b${p}`] = task === 'train' ? tf.variable(b) : b;
  }
  const perHead = form === 'perhead';

  const forward = (x, L, mask) =>
    tf.tidy(() => {
      const q = tf.mul(tf.add(tf.matMul(x, W.wq), W.bq), SCALE); // [L, 512], scaled once here (cheapest place)
      const k = tf.add(tf.matMul(x, W.wk), W.bk);
      const v = tf.add(tf.matMul(x, W.wv), W.bv);
      const ctx = perHead
        ? attentionPerHead(q, k, v, mask)
        : fromHeads(attentionBatched(toHeads(q, L), toHeads(k, L), toHeads(v, L), mask), L);
      return tf.add(tf.matMul(ctx, W.wo), W.bo); // [L, 512]
    });

  return {
    info: { kernels, build, path: perHead ? 'one 2-D matMul per head' : 'batched matMul over [H, L, dh], transposeB' },
    prepare(L, inputs) {
      const mask = causal ? tf.tensor2d(causalAdditiveMask(L), [L, L]) : null;
      const owned = mask ? [mask] : [];
      const read = (t) => {
        const data = t.dataSync();
        t.dispose();
        return data;
      };
      let run;
      if (task === 'sdpa') {
        const shape = [HEADS, L, HEAD_DIM];
        const q3 = tf.tensor3d(inputs.q, shape);
        const k3 = tf.tensor3d(inputs.k, shape);
        const v3 = tf.tensor3d(inputs.v, shape);
        owned.push(q3, k3, v3);
        run = () =>
          read(
            tf.tidy(() => {
              const qs = tf.mul(q3, SCALE);
              if (!perHead) return attentionBatched(qs, k3, v3, mask); // [H, L, dh]
              const kT = tf.transpose(k3, [0, 2, 1]); // [H, dh, L]
              const heads = [];
              for (let h = 0; h < HEADS; h++) {
                const qh = tf.reshape(tf.slice(qs, [h, 0, 0], [1, L, HEAD_DIM]), [L, HEAD_DIM]);
                const kTh = tf.reshape(tf.slice(kT, [h, 0, 0], [1, HEAD_DIM, L]), [HEAD_DIM, L]);
                const vh = tf.reshape(tf.slice(v3, [h, 0, 0], [1, L, HEAD_DIM]), [L, HEAD_DIM]);
                let s = tf.matMul(qh, kTh);
                if (mask) s = tf.add(s, mask);
                heads.push(tf.matMul(tf.softmax(s), vh));
              }
              return tf.stack(heads); // [H, L, dh]
            }),
          );
      } else {
        const x = tf.tensor2d(inputs.x, [L, d]);
        owned.push(x);
        if (task === 'mha') {
          run = () => read(forward(x, L, mask));
        } else {
          const g = tf.tensor2d(inputs.g, [L, d]);
          owned.push(g);
          const vars = Object.values(W);
          run = () => {
            const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(x, L, mask), g)), vars);
            value.dispose();
            const out = new Float32Array(2 * d * d);
            // tfjs holds Wᵀ; transpose its gradients back to heed's [out, in] layout to compare.
            out.set(transposed(grads[W.wq.name].dataSync(), d, d), 0);
            out.set(transposed(grads[W.wo.name].dataSync(), d, d), d * d);
            for (const t of Object.values(grads)) t.dispose();
            return out;
          };
        }
      }
      return {
        run,
        dispose() {
          for (const t of owned) t.dispose();
        },
      };
    },
  };
}
