import { bytesField, concatBytes, floatField, intField, stringField } from './protobuf-writer';

// The ONNX messages heed writes (field numbers from onnx/onnx.proto): ModelProto, OperatorSetIdProto,
// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto with TypeProto.Tensor and
// TensorShapeProto (dim_value or dim_param).

/** TensorProto.DataType values heed uses. */
export const OnnxDataType = { float: 1, int32: 6, int64: 7, bool: 9 } as const;
export type OnnxElementType = keyof typeof OnnxDataType;

/** An attribute value: number (INT when an integer and `floatAttributes` does not name it… see `OnnxNode`), number[], string or a tensor. */
export type OnnxAttributeValue = number | readonly number[] | string | OnnxTensor;

export interface OnnxNode {
  opType: string;
  /** '' (the default ai.onnx domain) or e.g. 'com.microsoft'. */
  domain?: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** Integers become INT/INTS attributes, other numbers FLOAT; names listed in `floatAttributes` are always FLOAT. */
  attributes?: Readonly<Record<string, OnnxAttributeValue>>;
  floatAttributes?: readonly string[];
}

export interface OnnxTensor {
  name: string;
  type: OnnxElementType;
  dims: readonly number[];
  /** float: Float32Array; int32: Int32Array; int64: BigInt64Array or integers; bool: Uint8Array of 0/1. */
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | readonly number[];
}

/** A graph input or output: a dimension is a size (number) or a named dynamic axis (string, dim_param). */
export interface OnnxValueInfo {
  name: string;
  type: OnnxElementType;
  shape: readonly (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  graph: OnnxGraph;
  /** Operator sets, e.g. [{ domain: '', version: 23 }, { domain: 'com.microsoft', version: 1 }]. */
  opsetImports: readonly { domain: string; version: number }[];
  /** Default: the IR version that introduced the default domain's opset (`irVersionFor`). */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
}

/** The IR version released with an ai.onnx opset (onnx/docs/Versioning.md): 17 -> 8, 19 -> 9, 21 -> 10, 23 -> 11, 24 -> 12 … */
export function irVersionFor(opset: number): number {
  if (opset <= 17) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  if (opset === 23) return 11;
  return 12;
}

const AttributeType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function rawBytes(tensor: OnnxTensor): Uint8Array {
  const { data, type } = tensor;
  const view = (typed: ArrayBufferView): Uint8Array => new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  if (type === 'float') return view(data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>));
  if (type === 'int32') return view(data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>));
  if (type === 'int64')
    return view(data instanceof BigInt64Array ? data : BigInt64Array.from(Array.from(data as ArrayLike<number>, (v) => BigInt(v))));
  return view(data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0)));
}

/** TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian). */
export function encodeTensor(tensor: OnnxTensor): Uint8Array {
  return concatBytes([
    ...tensor.dims.map((d) => intField(1, d)),
    intField(2, OnnxDataType[tensor.type]),
    stringField(8, tensor.name),
    bytesField(9, rawBytes(tensor)),
  ]);
}

/** ValueInfoProto name=1, type=2 -> TypeProto tensor_type=1 -> { elem_type=1, shape=2 -> { dim=1 -> { dim_value=1 | dim_param=2 } } }. */
export function encodeValueInfo(info: OnnxValueInfo): Uint8Array {
  const dims = info.shape.map((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : stringField(2, d)));
  const tensorType = concatBytes([intField(1, OnnxDataType[info.type]), bytesField(2, concatBytes(dims))]);
  return concatBytes([stringField(1, info.name), bytesField(2, bytesField(1, tensorType))]);
}

/** AttributeProto name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, type=20. */
export function encodeAttribute(name: string, value: OnnxAttributeValue, asFloat = false): Uint8Array {
  const head = stringField(1, name);
  if (typeof value === 'string') return concatBytes([head, stringField(4, value), intField(20, AttributeType.string)]);
  if (typeof value === 'number') {
    if (asFloat || !Number.isInteger(value)) return concatBytes([head, floatField(2, value), intField(20, AttributeType.float)]);
    return concatBytes([head, intField(3, value), intField(20, AttributeType.int)]);
  }
  if (Array.isArray(value)) {
    const numbers = value as readonly number[];
    if (asFloat || numbers.some((v) => !Number.isInteger(v)))
      return concatBytes([head, ...numbers.map((v) => floatField(7, v)), intField(20, AttributeType.floats)]);
    return concatBytes([head, ...numbers.map((v) => intField(8, v)), intField(20, AttributeType.ints)]);
  }
  return concatBytes([head, bytesField(5, encodeTensor(value as OnnxTensor)), intField(20, AttributeType.tensor)]);
}

/** NodeProto input=1, output=2, name=3, op_type=4, attribute=5, domain=7. */
export function encodeNode(node: OnnxNode): Uint8Array {
  const floats = new Set(node.floatAttributes ?? []);
  return concatBytes([
    ...node.inputs.map((i) => stringField(1, i)),
    ...node.outputs.map((o) => stringField(2, o)),
    stringField(3, node.name ?? node.outputs[0] ?? node.opType),
    stringField(4, node.opType),
    ...Object.entries(node.attributes ?? {}).map(([key, value]) => bytesField(5, encodeAttribute(key, value, floats.has(key)))),
    ...(node.domain ? [stringField(7, node.domain)] : []),
  ]);
}

/** GraphProto node=1, name=2, initializer=5, input=11, output=12. */
export function encodeGraph(graph: OnnxGraph): Uint8Array {
  return concatBytes([
    ...graph.nodes.map((n) => bytesField(1, encodeNode(n))),
    stringField(2, graph.name),
    ...graph.initializers.map((t) => bytesField(5, encodeTensor(t))),
    ...graph.inputs.map((v) => bytesField(11, encodeValueInfo(v))),
    ...graph.outputs.map((v) => bytesField(12, encodeValueInfo(v))),
  ]);
}

/** ModelProto ir_version=1, producer_name=2, producer_version=3, doc_string=6, graph=7, opset_import=8 -> { domain=1, version=2 }: the bytes of a .onnx file. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const defaultOpset = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 17;
  return concatBytes([
    intField(1, model.irVersion ?? irVersionFor(defaultOpset)),
    stringField(2, model.producerName ?? 'heed'),
    ...(model.producerVersion ? [stringField(3, model.producerVersion)] : []),
    ...(model.docString ? [stringField(6, model.docString)] : []),
    bytesField(7, encodeGraph(model.graph)),
    ...model.opsetImports.map((o) => bytesField(8, concatBytes([...(o.domain ? [stringField(1, o.domain)] : []), intField(2, o.version)]))),
  ]);
}
