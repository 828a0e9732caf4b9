// The two graphs the bench runs through ONNX Runtime, written with @heed/onnx's ONNX writer
// (encodeModel: ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto). Static shapes,
// opset 17, standard ops only.

import { encodeModel } from '@heed/onnx';
import { HEAD_DIM, HEADS, MODEL_DIM, SCALE, transposed } from './problem.mjs';

const OPSET = 17;

/** One NodeProto; its name is its first output's. */
const node = (opType, inputs, outputs, attributes = {}) => ({ opType, inputs, outputs, attributes });
const floatTensor = (name, dims, values) => ({ name, type: 'float', dims, data: values });
const int64Tensor = (name, values) => ({ name, type: 'int64', dims: [values.length], data: values });
const valueInfo = (name, shape) => ({ name, type: 'float', shape });

/** A GraphProto wrapped in a ModelProto (opset 17). */
export function model({ name, nodes, initializers, inputs, outputs }) {
  return encodeModel({
    graph: { name, nodes, initializers, inputs, outputs },
    opsetImports: [{ domain: '', version: OPSET }],
    producerName: 'heed-bench',
  });
}

// --- the bench graphs -------------------------------------------------------------------------

/** The attention core on q, k, v [1, H, L, dh] (q already scaled): softmax(q kᵀ [+ mask]) v -> name. */
function attentionNodes(q, k, v, out, causal) {
  const nodes = [
    node('Transpose', [k], ['kT'], { perm: [0, 1, 3, 2] }), // [1, H, dh, L]
    node('MatMul', [q, 'kT'], ['scores']), // [1, H, L, L]
  ];
  let scores = 'scores';
  if (causal) {
    nodes.push(node('Add', ['scores', 'mask'], ['masked'])); // mask [L, L] broadcasts
    scores = 'masked';
  }
  nodes.push(node('Softmax', [scores], ['weights'], { axis: 3 }), node('MatMul', ['weights', v], [out]));
  return nodes;
}

/** Scaled dot-product attention: inputs q, k, v [1, 8, L, 64] (and mask [L, L] when causal), output out. */
export function sdpaModel(L, { causal = false } = {}) {
  const qkv = [1, HEADS, L, HEAD_DIM];
  return model({
    name: `sdpa_L${L}`,
    nodes: [node('Mul', ['q', 'scale'], ['qs']), ...attentionNodes('qs', 'k', 'v', 'out', causal)],
    initializers: [floatTensor('scale', [], Float32Array.of(SCALE))],
    inputs: [valueInfo('q', qkv), valueInfo('k', qkv), valueInfo('v', qkv), ...(causal ? [valueInfo('mask', [L, L])] : [])],
    outputs: [valueInfo('out', qkv)],
  });
}

/**
 * Multi-head self-attention forward: x [1, L, 512] -> out [1, L, 512]; weights are initializers
 * holding the same values as heed's (stored transposed, x · Wᵀ, as exporters write nn.Linear).
 */
export function mhaModel(L, weights, { causal = false } = {}) {
  const d = MODEL_DIM;
  const nodes = [];
  const initializers = [
    floatTensor('scale', [], Float32Array.of(SCALE)),
    int64Tensor('split_shape', [1, L, HEADS, HEAD_DIM]),
    int64Tensor('merge_shape', [1, L, d]),
  ];
  for (const p of ['q', 'k', 'v', 'o']) {
    initializers.push(floatTensor(`W${p}T`, [d, d], transposed(weights[`w${p}`], d, d)), floatTensor(`b${p}`, [d], weights[`b${p}`]));
  }
  for (const p of ['q', 'k', 'v']) {
    nodes.push(
      node('MatMul', ['x', `W${p}T`], [`${p}_mm`]), // [1, L, 512]
      node('Add', [`${p}_mm`, `b${p}`], [`${p}_lin`]),
      node('Reshape', [`${p}_lin`, 'split_shape'], [`${p}_split`]), // [1, L, H, dh]
      node('Transpose', [`${p}_split`], [`${p}_heads`], { perm: [0, 2, 1, 3] }), // [1, H, L, dh]
    );
  }
  nodes.push(node('Mul', ['q_heads', 'scale'], ['q_scaled']));
  nodes.push(...attentionNodes('q_scaled', 'k_heads', 'v_heads', 'ctx', causal)); // [1, H, L, dh]
  nodes.push(
    node('Transpose', ['ctx'], ['ctx_t'], { perm: [0, 2, 1, 3] }), // [1, L, H, dh]
    node('Reshape', ['ctx_t', 'merge_shape'], ['ctx_merged']), // [1, L, 512]
    node('MatMul', ['ctx_merged', 'WoT'], ['o_mm']),
    node('Add', ['o_mm', 'bo'], ['out']),
  );
  return model({
    name: `mha_L${L}`,
    nodes,
    initializers,
    inputs: [valueInfo('x', [1, L, d]), ...(causal ? [valueInfo('mask', [L, L])] : [])],
    outputs: [valueInfo('out', [1, L, d])],
  });
}

/**
 * The same MHA forward around ONNX Runtime's fused `com.microsoft.MultiHeadAttention` (the op its WebGPU
 * provider runs with FlashAttention-2 kernels, and transformers.js exports): x [1, L, 512] -> out [1, L, 512].
 * The projection biases are separate Add nodes, not the op's packed `bias` input, and the op's
 * `present_key` / `present_value` outputs are graph outputs: the WebGPU provider takes its FlashAttention
 * path only without `bias` and with both present outputs (contrib_ops/webgpu/bert/flash_attention.cc,
 * CanApplyFlashAttention; it also needs the adapter's subgroups). Full (bidirectional) attention: the
 * provider refuses `unidirectional`. The caller fetches only `out`.
 */
export function mhaContribModel(L, weights) {
  const d = MODEL_DIM;
  const nodes = [];
  const initializers = [];
  for (const p of ['q', 'k', 'v', 'o']) {
    initializers.push(floatTensor(`W${p}T`, [d, d], transposed(weights[`w${p}`], d, d)), floatTensor(`b${p}`, [d], weights[`b${p}`]));
  }
  for (const p of ['q', 'k', 'v']) {
    nodes.push(
      node('MatMul', ['x', `W${p}T`], [`${p}_mm`]), // [1, L, 512]
      node('Add', [`${p}_mm`, `b${p}`], [p]), // [1, L, 512] = [1, L, H·dh]
    );
  }
  nodes.push({
    ...node('MultiHeadAttention', ['q', 'k', 'v'], ['ctx', 'present_key', 'present_value'], { num_heads: HEADS, scale: SCALE }),
    domain: 'com.microsoft',
    floatAttributes: ['scale'],
  }); // [1, L, 512]; present_* [1, H, L, dh]
  nodes.push(node('MatMul', ['ctx', 'WoT'], ['o_mm']), node('Add', ['o_mm', 'bo'], ['out'])); // [1, L, 512]
  return encodeModel({
    graph: {
      name: `mha_contrib_L${L}`,
      nodes,
      initializers,
      inputs: [valueInfo('x', [1, L, d])],
      outputs: [
        valueInfo('out', [1, L, d]),
        valueInfo('present_key', [1, HEADS, L, HEAD_DIM]),
        valueInfo('present_value', [1, HEADS, L, HEAD_DIM]),
      ],
    },
    opsetImports: [
      { domain: '', version: OPSET },
      { domain: 'com.microsoft', version: 1 },
    ],
    producerName: 'heed-bench',
  });
}
