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

/** The (impl, task) pairs a run plans, in table order: tasks first, the reference first within a task. */
export function planGpuRows({ only, train }) {
  for (const id of only ?? [])
    if (!GPU_IMPLS.some((impl) => impl.id === id))
      throw new Error(`pnpm bench --gpu: unknown implementation ${id} in --only (known: ${GPU_IMPLS.map((i) => i.id).join(', ')})`);
  const tasks = train ? ['mha', 'train'] : ['mha'];
  const impls = GPU_IMPLS.filter((impl) => only === null || only.includes(impl.id));
  return tasks.flatMap((task) => impls.map((impl) => ({ impl, task })));
}
