// heed's side. Everything heed offers is detected at run time, so the bench works with whatever
// the packages export today:
//   - @heed/tensor `useWasmKernels` (WebAssembly SIMD kernels, maybe with threads)  -> wasm rows
//   - @heed/multi-head `MultiHeadAttention`                                          -> the MHA layer
//     (until it exists: composed from `linear` + `attend`, as the layer does)
//   - `attend({ needWeights: false })`: the fused path that never stores the L×L weights, where present.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as T from '@heed/tensor';
import * as SA from '@heed/soft-attention';
import { HEAD_DIM, HEADS, MODEL_DIM, makeWeights } from './problem.mjs';
import { osThreadCount, threadsStarted } from './os-threads.mjs';
import { buildLabel, heedWasmBuild, relaxedBuildValidates } from './wasm-build.mjs';

async function importMultiHead() {
  try {
    const mod = await import('@heed/multi-head');
    return typeof mod.MultiHeadAttention === 'function' ? mod : null;
  } catch {
    return null;
  }
}

/** What this heed build offers (checked in the parent to decide which rows exist). */
export async function detectHeed() {
  const mh = await importMultiHead();
  return {
    wasm: typeof T.useWasmKernels === 'function',
    wasmThreads: typeof T.useWasmKernels === 'function' && wasmThreadsAvailable(),
    multiHead: mh !== null,
    sdpaOp: typeof T.scaledDotProductAttention === 'function',
  };
}

/**
 * Whether the wasm kernels take a `threads` option: an explicit export if there is one, else the
 * option read in @heed/tensor's built code (`options.threads`). Whether threads really ran shows in
 * each row's CPU/wall ratio.
 */
function wasmThreadsAvailable() {
  if (typeof T.wasmThreadsSupported === 'function') return Boolean(T.wasmThreadsSupported());
  try {
    const file = createRequire(import.meta.url).resolve('@heed/tensor');
    return /options\.threads\b/.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Selects the kernels for a variant ('js' | 'wasm1' | 'wasm2'); returns { kernels, build }: what was
 * asked and what the kernel instance says ran (relaxed SIMD or SIMD-128, threads).
 */
async function selectKernels(variant) {
  if (variant === 'js') {
    if (typeof T.setKernels === 'function' && typeof T.plainKernels === 'function') T.setKernels(T.plainKernels());
    return { kernels: 'plain TypeScript kernels (plainKernels)', build: { kind: 'js', threads: 1, source: 'setKernels(plainKernels())' } };
  }
  if (typeof T.useWasmKernels !== 'function') throw new Error('@heed/tensor has no useWasmKernels export');
  const threads = variant === 'wasm2' ? 2 : 1;
  const before = osThreadCount();
  const result = await T.useWasmKernels({ threads });
  const build = heedWasmBuild(result, threads, {
    relaxed: relaxedBuildValidates,
    threadsStarted: threadsStarted(before, osThreadCount(), threads),
  });
  return { kernels: `useWasmKernels({ threads: ${threads} }) -> ${buildLabel(build)} [${build.source}]`, build };
}

const wrap = (data, shape, requiresGrad = false) => new T.Tensor(data, shape, requiresGrad);

function layerWeights(requiresGrad) {
  const w = makeWeights();
  const d = MODEL_DIM;
  return {
    wq: wrap(w.wq, [d, d], requiresGrad),
    wk: wrap(w.wk, [d, d], requiresGrad),
    wv: wrap(w.wv, [d, d], requiresGrad),
    wo: wrap(w.wo, [d, d], requiresGrad),
    bq: wrap(w.bq, [d], requiresGrad),
    bk: wrap(w.bk, [d], requiresGrad),
    bv: wrap(w.bv, [d], requiresGrad),
    bo: wrap(w.bo, [d], requiresGrad),
  };
}

/** [1, L, 512] -> [1, H, L, dh] */
const splitHeads = (t, L) => T.permute(T.reshape(t, [1, L, HEADS, HEAD_DIM]), [0, 2, 1, 3]);

/** The MHA forward composed from public ops, the way MultiHeadAttention computes it. */
function composedForward(W, x, L, causal) {
  const q = splitHeads(T.linear(x, W.wq, W.bq), L);
  const k = splitHeads(T.linear(x, W.wk, W.bk), L);
  const v = splitHeads(T.linear(x, W.wv, W.bv), L);
  const { context } = SA.attend({ query: q, keys: k, values: v, causal, needWeights: false }); // [1, H, L, dh]
  const merged = T.reshape(T.permute(context, [0, 2, 1, 3]), [1, L, MODEL_DIM]);
  return T.linear(merged, W.wo, W.bo);
}

/** Builds MultiHeadAttention(512, 8) holding the bench's weights; null if its API is not the expected one. */
function buildLayer(mh, W) {
  const layer = new mh.MultiHeadAttention({ embedDim: MODEL_DIM, numHeads: HEADS });
  const params = typeof layer.namedParameters === 'function' ? new Map(layer.namedParameters()) : null;
  if (!params) return null;
  // Known layouts: separate q/k/v/out projections (Linear: weight [out, in], bias [out]).
  const candidates = {
    wq: ['queryProjection.weight', 'qProj.weight', 'queryProj.weight', 'q.weight'],
    bq: ['queryProjection.bias', 'qProj.bias', 'queryProj.bias', 'q.bias'],
    wk: ['keyProjection.weight', 'kProj.weight', 'keyProj.weight', 'k.weight'],
    bk: ['keyProjection.bias', 'kProj.bias', 'keyProj.bias', 'k.bias'],
    wv: ['valueProjection.weight', 'vProj.weight', 'valueProj.weight', 'v.weight'],
    bv: ['valueProjection.bias', 'vProj.bias', 'valueProj.bias', 'v.bias'],
    wo: ['outputProjection.weight', 'outProj.weight', 'out.weight', 'o.weight'],
    bo: ['outputProjection.bias', 'outProj.bias', 'out.bias', 'o.bias'],
  };
  const mapped = {};
  for (const [name, keys] of Object.entries(candidates)) {
    const key = keys.find((k) => params.has(k));
    if (!key) return null;
    mapped[name] = params.get(key);
  }
  for (const [name, p] of Object.entries(mapped)) p.data.set(W[name].data);
  if (typeof layer.eval === 'function') layer.eval();
  return { layer, params: mapped };
}

/**
 * Sets up heed for a task; returns { info, prepare(L, inputs) -> { run(): Float32Array } }.
 * mha/sdpa run inside noGrad; train runs forward + backward and returns dL/dWq ‖ dL/dWo.
 */
export async function createHeed(variant, task, { causal = false, window = null } = {}) {
  const { kernels, build } = await selectKernels(variant);
  const mh = task === 'sdpa' ? null : await importMultiHead();
  const W = layerWeights(task === 'train');
  const built = mh ? buildLayer(mh, W) : null;
  const layer = built ? built.layer : null;
  const P = built ? built.params : W; // the tensors whose gradients train reads
  const forward = (x, L) => {
    if (layer) {
      const out = layer.forward(x, x, x, { causal, needWeights: false });
      return out.output ?? out.context ?? out;
    }
    return composedForward(W, x, L, causal);
  };
  const path =
    task === 'sdpa'
      ? `attend({ ${causal ? 'causal: true, ' : ''}${window ? `keepRule: new SlidingWindowRule(${window}), ` : ''}needWeights: false })`
      : layer
        ? 'MultiHeadAttention (eval, needWeights: false)'
        : `linear + attend({ needWeights: false }) composed${mh ? ' (MultiHeadAttention present but its parameter names were not recognised)' : ''}`;
  return {
    info: { kernels, path, build },
    prepare(L, inputs) {
      if (task === 'sdpa') {
        const shape = [1, HEADS, L, HEAD_DIM];
        const q = wrap(inputs.q, shape);
        const k = wrap(inputs.k, shape);
        const v = wrap(inputs.v, shape);
        const keepRule = window ? new SA.SlidingWindowRule(window) : undefined; // i − W < j ≤ i, fused as key bounds
        return {
          run: () => T.noGrad(() => SA.attend({ query: q, keys: k, values: v, causal, keepRule, needWeights: false }).context.data),
        };
      }
      const x = wrap(inputs.x, [1, L, MODEL_DIM]);
      if (task === 'mha') return { run: () => T.noGrad(() => forward(x, L).data) };
      const g = wrap(inputs.g, [1, L, MODEL_DIM]);
      const params = Object.values(P);
      return {
        run: () => {
          for (const p of params) p.grad = null;
          forward(x, L).backward(g);
          const out = new Float32Array(2 * MODEL_DIM * MODEL_DIM);
          out.set(P.wq.grad.data, 0);
          out.set(P.wo.grad.data, MODEL_DIM * MODEL_DIM);
          return out;
        },
      };
    },
  };
}
