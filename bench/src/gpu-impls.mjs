// The rows of `pnpm bench --gpu`: which implementation, which tasks, where it can run (pure metadata).
//   mha:   MultiHeadAttention(512, 8) self-attention forward, full (bidirectional), x [1, L, 512]; the output is
//          read back into a Float32Array inside the timed run.
//   train: one training step of the same layer: forward, loss Σ out ⊙ g, backward, Adam; compared on dL/dWq.
// heed (wasm, 1 thread) is the reference of the agreement column and the denominator of the training target.

export const GPU_TASKS = { mha: 'MHA forward', train: 'train step' };

export const REFERENCE_IMPL = 'heed-wasm1';

export const GPU_IMPLS = [
  { id: 'heed-wasm1', label: 'heed (wasm, 1 thread)', tasks: ['mha', 'train'], where: ['node', 'browser'] },
  { id: 'heed-webgpu', label: 'heed (WebGPU)', tasks: ['mha', 'train'], where: ['node', 'browser'] },
  { id: 'ort-webgpu', label: 'onnxruntime-node (WebGPU EP, MultiHeadAttention)', tasks: ['mha'], where: ['node'] },
  { id: 'ort-webgpu-matmul', label: 'onnxruntime-node (WebGPU EP, MatMul/Softmax graph)', tasks: ['mha'], where: ['node'] },
  { id: 'ortweb-webgpu', label: 'onnxruntime-web (WebGPU EP, MultiHeadAttention)', tasks: ['mha'], where: ['node', 'browser'] },
  { id: 'tfjs-webgpu', label: 'tfjs-webgpu (batched)', tasks: ['mha', 'train'], where: ['node', 'browser'] },
];

/** Why an implementation has no row for a task or a route (printed in the table), or null when it runs. */
export function whyNot(impl, task, route) {
  if (!impl.tasks.includes(task)) return 'no training API (an inference runtime)';
  if (!impl.where.includes(route)) return route === 'browser' ? 'Node only (a native addon)' : 'browser only';
  return null;
}

/** The rows the targets need run first (a run with a time budget keeps them): reference, heed, ORT MHA. */
const FIRST = ['mha heed-wasm1', 'mha heed-webgpu', 'mha ort-webgpu', 'mha ortweb-webgpu', 'train heed-wasm1', 'train heed-webgpu'];

/** The (impl, task) pairs a run plans, in run order: the rows of the targets first (the reference first of all). */
export function planGpuRows({ only, train }) {
  for (const id of only ?? [])
    if (!GPU_IMPLS.some((impl) => impl.id === id))
      throw new Error(`pnpm bench --gpu: unknown implementation ${id} in --only (known: ${GPU_IMPLS.map((i) => i.id).join(', ')})`);
  const tasks = train ? ['mha', 'train'] : ['mha'];
  const impls = GPU_IMPLS.filter((impl) => only === null || only.includes(impl.id));
  const all = tasks.flatMap((task) => impls.map((impl) => ({ impl, task })));
  const rank = ({ impl, task }) => {
    const at = FIRST.indexOf(`${task} ${impl.id}`);
    return at >= 0 ? at : FIRST.length;
  };
  return all
    .map((row, i) => ({ row, i }))
    .sort((a, b) => rank(a.row) - rank(b.row) || a.i - b.i)
    .map(({ row }) => row);
}

/** Rows in table order: by task, then as GPU_IMPLS lists the implementations, then by L. */
export function tableOrder(rows) {
  const task = (r) => Object.keys(GPU_TASKS).indexOf(r.task);
  const impl = (r) => GPU_IMPLS.findIndex((i) => i.id === r.impl);
  return [...rows].sort((a, b) => task(a) - task(b) || impl(a) - impl(b) || (a.L ?? 0) - (b.L ?? 0));
}
