import { ArgumentError } from '@heed/tensor';
import { attentionCore, fusedOpFor, type OnnxTarget } from './attention-core';
import { GraphBuilder } from './graph-builder';
import type { KeepInputs } from './keep-mask';
import { encodeModel } from './onnx-model';
import { ParameterTable } from './parameter-table';
import { rotate } from './variant-exports'; // also registers the exports of the built-in variants
import { describe, type AttendDims, type AttentionDescription, type ExportSource, type LinearParameters } from './read-module';

// Shape letters: B batch, L sequence (self-attention), Lq queries, Lk keys, E embedDim, H heads,
// d features per head, dq/dk/dv feature sizes.

export interface ExportToOnnxOptions {
  /** Which ops compute attention (default 'standard'): see `OnnxTarget`. */
  target?: OnnxTarget;
  /** The ai.onnx opset (default 23; 'standard' needs ≥ 23, the others ≥ 18). */
  opset?: number;
  /** Sizes for `attend` / `SoftAttention` (modules carry theirs). */
  dims?: AttendDims;
  /** Add a bool graph input `attentionMask` broadcastable to the scores (true = may attend). */
  attentionMask?: boolean;
  /** Add a bool graph input `keyPaddingMask` [B, Lk] (true = real key). */
  keyPaddingMask?: boolean;
  /** Query i attends keys j ≤ i (top-left aligned), built into the graph. */
  causal?: boolean;
  /** Names of the graph inputs (defaults: query, keys, values for attend; x for SelfAttention; query, key, value for MultiHeadAttention; attentionMask; keyPaddingMask). */
  inputNames?: Partial<Record<'query' | 'keys' | 'values' | 'x' | 'key' | 'value' | 'attentionMask' | 'keyPaddingMask', string>>;
  /** The graph output's name (default: context for attend, output for the modules). */
  outputName?: string;
  /** Names of the dynamic dimensions (dim_param; defaults batch, query_length, key_length; SelfAttention uses queryLength for its one length). */
  dynamicAxes?: { batch?: string; queryLength?: string; keyLength?: string };
  /** The graph's name (default: the kind of source). */
  graphName?: string;
}

export interface OnnxExport {
  /** The .onnx file's bytes. */
  bytes: Uint8Array;
  /** The graph inputs and outputs, with their element types and shapes (numbers or dim names). */
  inputs: { name: string; type: 'float' | 'bool'; shape: (number | string)[] }[];
  outputs: { name: string; type: 'float'; shape: (number | string)[] }[];
  /** The op that computes attention: 'Attention' (ai.onnx), 'MultiHeadAttention' (com.microsoft) or 'decomposed'. */
  attentionOp: 'Attention' | 'MultiHeadAttention' | 'decomposed';
}

const TARGETS: readonly OnnxTarget[] = ['standard', 'contrib', 'decomposed'];

/**
 * Writes a heed attention module or `attend` configuration as an ONNX model for ONNX Runtime (or any
 * ONNX runtime that has the ops): weights are initializers under heed's parameter names, masks are
 * bool graph inputs (true = may attend), batch and sequence lengths are dynamic named axes. Inference
 * only: dropout is left out, as in `eval()`.
 *   attend / SoftAttention:  query [B, (H,) Lq, dq], keys [B, (Hkv,) Lk, dk], values [B, (Hkv,) Lk, dv] -> context [B, (H,) Lq, dv]
 *   SelfAttention:           x [B, L, d] -> output [B, L, do or dv]
 *   MultiHeadAttention:      query [B, Lq, E], key [B, Lk, kdim], value [B, Lk, vdim] -> output [B, Lq, E]
 *   LlamaAttention:          x [B, L, E] -> output [B, L, E] (causal, or its sliding window, always)
 */
export function exportToOnnx(source: ExportSource, options: ExportToOnnxOptions = {}): OnnxExport {
  const target = options.target ?? 'standard';
  if (!TARGETS.includes(target)) {
    throw new ArgumentError(`target must be one of ${TARGETS.map((t) => `'${t}'`).join(', ')}, got ${JSON.stringify(target)}`, {
      op: 'exportToOnnx',
      argument: 'target',
    });
  }
  const opset = options.opset ?? 23;
  const minimum = target === 'standard' ? 23 : 18;
  if (!Number.isInteger(opset) || opset < minimum) {
    throw new ArgumentError(`opset must be an integer ≥ ${minimum} for target '${target}', got ${opset}`, {
      op: 'exportToOnnx',
      argument: 'opset',
    });
  }
  const description = describe(source, options.dims);
  const graph = new GraphBuilder(options.graphName ?? description.kind);
  const parameters = new ParameterTable(graph, description.namedParameters);
  const names = options.inputNames ?? {};
  const axes = {
    batch: options.dynamicAxes?.batch ?? 'batch',
    queryLength:
      options.dynamicAxes?.queryLength ??
      (description.kind === 'self-attention' || description.kind === 'llama' ? 'sequence_length' : 'query_length'),
    keyLength: options.dynamicAxes?.keyLength ?? 'key_length',
  };
  if (description.kind === 'self-attention' || description.kind === 'llama') axes.keyLength = axes.queryLength;

  const { B, Lq, Lk } = { B: axes.batch, Lq: axes.queryLength, Lk: axes.keyLength };
  const heads = description.numHeads;
  const spec = {
    scorers: description.scorers,
    normalizer: description.normalizer,
    numHeads: heads,
    groupSize: heads > 0 ? heads / description.numKeyValueHeads : 1,
    queryDim: description.queryDim,
    keyDim: description.keyDim,
    valueDim: description.valueDim,
    target,
    op: 'exportToOnnx',
  };

  let query: string;
  let keys: string;
  let values: string;
  let scoresShape: (number | string)[];
  if (description.kind === 'attend') {
    const headAxis = (count: number): number[] => (heads > 0 ? [count] : []);
    query = graph.input(names.query ?? 'query', 'float', [B, ...headAxis(heads), Lq, description.queryDim]);
    keys = graph.input(names.keys ?? 'keys', 'float', [B, ...headAxis(description.numKeyValueHeads), Lk, description.keyDim]);
    values = graph.input(names.values ?? 'values', 'float', [B, ...headAxis(description.numKeyValueHeads), Lk, description.valueDim]);
    scoresShape = heads > 0 ? ['mask_batch', 'mask_heads', Lq, Lk] : ['mask_batch', Lq, Lk];
  } else if (description.kind === 'self-attention') {
    const x = graph.input(names.x ?? 'x', 'float', [B, Lq, description.inputDims.query]);
    const projections = description.projections!;
    query = linear(graph, parameters, x, projections.query, 'queryProjection'); // [B, L, dk]
    keys = linear(graph, parameters, x, projections.key, 'keyProjection'); // [B, L, dk]
    values = linear(graph, parameters, x, projections.value, 'valueProjection'); // [B, L, dv]
    scoresShape = ['mask_batch', Lq, Lk];
  } else if (description.kind === 'llama') {
    const x = graph.input(names.x ?? 'x', 'float', [B, Lq, description.inputDims.query]);
    const projections = description.projections!;
    const rope = description.rotary!;
    const zero = graph.float(0);
    const heads = (layer: LinearParameters, count: number, name: string): string =>
      splitHeads(graph, linear(graph, parameters, x, layer, name), count, description.queryDim); // [B, L, E] -> [B, count, L, d]
    query = rotate(graph, heads(projections.query, description.numHeads, 'queryProjection'), zero, description.queryDim, rope); // [B, H, L, d]
    keys = rotate(graph, heads(projections.key, description.numKeyValueHeads, 'keyProjection'), zero, description.keyDim, rope); // [B, Hkv, L, d]
    values = heads(projections.value, description.numKeyValueHeads, 'valueProjection'); // [B, Hkv, L, d]
    scoresShape = ['mask_batch', 'mask_heads', Lq, Lk];
  } else {
    const projections = description.projections!;
    const queryInput = graph.input(names.query ?? 'query', 'float', [B, Lq, description.inputDims.query]);
    const keyInput = graph.input(names.key ?? 'key', 'float', [B, Lk, description.inputDims.key]);
    const valueInput = graph.input(names.value ?? 'value', 'float', [B, Lk, description.inputDims.value]);
    query = splitHeads(graph, linear(graph, parameters, queryInput, projections.query, 'queryProjection'), heads, description.queryDim); // [B, Lq, E] -> [B, H, Lq, d]
    keys = splitHeads(
      graph,
      linear(graph, parameters, keyInput, projections.key, 'keyProjection'),
      description.numKeyValueHeads,
      description.keyDim,
    ); // [B, Lk, kdim] -> [B, Hkv, Lk, d]
    values = splitHeads(
      graph,
      linear(graph, parameters, valueInput, projections.value, 'valueProjection'),
      description.numKeyValueHeads,
      description.valueDim,
    ); // [B, Lk, vdim] -> [B, Hkv, Lk, d]
    scoresShape = ['mask_batch', 'mask_heads', Lq, Lk];
  }

  const rule = description.keepRule;
  const masks: KeepInputs = rule ? { ...rule } : { causal: options.causal ?? false };
  if (options.attentionMask) masks.attentionMask = graph.input(names.attentionMask ?? 'attentionMask', 'bool', scoresShape);
  if (options.keyPaddingMask) masks.keyPaddingMask = graph.input(names.keyPaddingMask ?? 'keyPaddingMask', 'bool', [B, Lk]);

  const context = attentionCore(graph, parameters, query, keys, values, masks, spec); // [B, (H,) Lq, dv]
  let output = context;
  if (description.kind === 'multi-head' || description.kind === 'llama') {
    const merged = graph.op('Reshape', [graph.op('Transpose', [context], { perm: [0, 2, 1, 3] }), graph.int64s([0, 0, -1])]); // [B, H, Lq, d] -> [B, Lq, E]
    output = linear(graph, parameters, merged, description.projections!.output!, 'outputProjection'); // [B, Lq, E]
  } else if (description.projections?.output) {
    output = linear(graph, parameters, context, description.projections.output, 'outputProjection'); // [B, L, dv] -> [B, L, do]
  }
  const outputName = options.outputName ?? (description.kind === 'attend' ? 'context' : 'output');
  const outputShape = description.kind === 'attend' && heads > 0 ? [B, heads, Lq, description.outputDim] : [B, Lq, description.outputDim];
  graph.output(output, outputName, 'float', outputShape);

  const built = graph.build();
  const opsetImports = [{ domain: '', version: opset }, ...[...graph.domains].map((domain) => ({ domain, version: 1 }))];
  return {
    bytes: encodeModel({ graph: built, opsetImports, producerName: 'heed', docString: describeExport(description, target) }),
    inputs: built.inputs.map((i) => ({ name: i.name, type: i.type as 'float' | 'bool', shape: [...i.shape] })),
    outputs: [{ name: outputName, type: 'float', shape: outputShape }],
    attentionOp: fusedOpFor(spec) ?? 'decomposed',
  };
}

/** x · Wᵀ + b for a heed Linear: [..., in] -> [..., out] */
function linear(graph: GraphBuilder, parameters: ParameterTable, x: string, layer: LinearParameters, name: string): string {
  const weight = parameters.use(layer.weight, `${name}.weight`); // [out, in]
  const product = graph.op('MatMul', [x, graph.op('Transpose', [weight], { perm: [1, 0] })], {}, { name }); // [..., in] x [in, out] -> [..., out]
  return layer.bias ? graph.op('Add', [product, parameters.use(layer.bias, `${name}.bias`)], {}, { name }) : product;
}

/** [B, L, H·d] -> [B, H, L, d] */
function splitHeads(graph: GraphBuilder, x: string, count: number, d: number): string {
  return graph.op('Transpose', [graph.op('Reshape', [x, graph.int64s([0, 0, count, d])])], { perm: [0, 2, 1, 3] }); // [B, L, H, d] -> [B, H, L, d]
}

function describeExport(description: AttentionDescription, target: OnnxTarget): string {
  const scorer = description.scorers[0]!.scorer.kind;
  return `heed ${description.kind}: scorer ${scorer}, normalizer ${description.normalizer.kind}, target ${target}`;
}
