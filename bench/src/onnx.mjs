// A tiny ONNX writer: just enough protobuf (varints, length-delimited fields, fixed32) for the
// messages a static graph needs — ModelProto, OperatorSetIdProto, GraphProto, NodeProto,
// AttributeProto, TensorProto, ValueInfoProto, TypeProto(.Tensor), TensorShapeProto — and the two
// graphs the bench runs through ONNX Runtime. Field numbers are those of onnx/onnx.proto.

import { HEAD_DIM, HEADS, MODEL_DIM, SCALE, transposed } from './problem.mjs';

const IR_VERSION = 8; // the IR version of opset 17
const OPSET = 17;
const FLOAT = 1; // TensorProto.DataType
const INT64 = 7;
const ATTR_INT = 2; // AttributeProto.AttributeType
const ATTR_INTS = 7;

// --- protobuf wire format ---------------------------------------------------------------------

const textEncoder = new TextEncoder();

function varint(value) {
  let v = BigInt.asUintN(64, BigInt(value)); // negative int64 -> ten-byte two's complement, as protobuf does
  const bytes = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Uint8Array.from(bytes);
}

function concat(parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const key = (field, wireType) => varint((field << 3) | wireType);
/** Wire type 0: int32/int64/enum/bool. */
export const intField = (field, value) => concat([key(field, 0), varint(value)]);
/** Wire type 2: bytes, strings and embedded messages. */
export const bytesField = (field, bytes) => concat([key(field, 2), varint(bytes.length), bytes]);
export const stringField = (field, text) => bytesField(field, textEncoder.encode(text));
/** Wire type 5: float. */
export function floatField(field, value) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return concat([key(field, 5), b]);
}
export { concat as message, varint };

// --- ONNX messages ----------------------------------------------------------------------------

/** TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian). */
function tensorProto(name, dims, dataType, raw) {
  return concat([...dims.map((d) => intField(1, d)), intField(2, dataType), stringField(8, name), bytesField(9, raw)]);
}
export const floatTensor = (name, dims, values) => tensorProto(name, dims, FLOAT, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
export function int64Tensor(name, values) {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return tensorProto(name, [values.length], INT64, new Uint8Array(data.buffer));
}

/** ValueInfoProto name=1, type=2 -> TypeProto tensor_type=1 -> {elem_type=1, shape=2 -> {dim=1 -> {dim_value=1}}}. */
export function valueInfo(name, dims) {
  const shape = concat(dims.map((d) => bytesField(1, intField(1, d))));
  const tensorType = concat([intField(1, FLOAT), bytesField(2, shape)]);
  return concat([stringField(1, name), bytesField(2, bytesField(1, tensorType))]);
}

/** AttributeProto name=1, i=3, ints=8, type=20. */
function attribute(name, value) {
  if (Array.isArray(value)) return concat([stringField(1, name), ...value.map((v) => intField(8, v)), intField(20, ATTR_INTS)]);
  return concat([stringField(1, name), intField(3, value), intField(20, ATTR_INT)]);
}

/** NodeProto input=1, output=2, name=3, op_type=4, attribute=5. */
function node(opType, inputs, outputs, attributes = {}, name = outputs[0]) {
  return concat([
    ...inputs.map((i) => stringField(1, i)),
    ...outputs.map((o) => stringField(2, o)),
    stringField(3, name),
    stringField(4, opType),
    ...Object.entries(attributes).map(([k, v]) => bytesField(5, attribute(k, v))),
  ]);
}

/** GraphProto node=1, name=2, initializer=5, input=11, output=12; wrapped in ModelProto. */
export function model({ name, nodes, initializers, inputs, outputs }) {
  const graph = concat([
    ...nodes.map((n) => bytesField(1, n)),
    stringField(2, name),
    ...initializers.map((t) => bytesField(5, t)),
    ...inputs.map((v) => bytesField(11, v)),
    ...outputs.map((v) => bytesField(12, v)),
  ]);
  // ModelProto ir_version=1, producer_name=2, graph=7, opset_import=8 -> {domain=1 (default ""), version=2}
  return concat([intField(1, IR_VERSION), stringField(2, 'heed-bench'), bytesField(7, graph), bytesField(8, intField(2, OPSET))]);
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
