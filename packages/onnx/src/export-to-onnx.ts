import { KeepRule } from '@heed/soft-attention';
import { ArgumentError, ConfigError } from '@heed/tensor';
import { attentionCore, fusedOpFor, type FusedOp, type OnnxTarget } from './attention-core';
import { GraphBuilder } from './graph-builder';
import { checkExportableRule, segmentRuleOf, type KeepInputs, type OffsetValue } from './keep-mask';
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
  /** Add a float graph input `additiveMask` broadcastable to the scores, added to them (−∞ drops a key), as heed's `additiveMask`. */
  additiveMask?: boolean;
  /**
   * Query i attends keys j ≤ i + offset, built into the graph: `true` is offset 0 (top-left aligned), or
   * the past length with `cache` (as heed's MultiHeadAttention); `{ offset }` a fixed offset.
   */
  causal?: boolean | { offset: number };
  /**
   * A keep rule built from heed's rules (`CausalRule`, `SlidingWindowRule`, `LocalWindowRule`,
   * `SegmentRule`, their `and` / `or`), built into the graph; a `SegmentRule`'s ids become the int64
   * graph inputs `querySegments` [B, Lq] and `keySegments` [B, Lk]. A user's `keepRule(kind, fn)` has no export.
   */
  keepRule?: KeepRule;
  /**
   * MultiHeadAttention and LlamaAttention: a key/value cache as graph inputs `past_key`, `past_value`
   * [B, Hkv, P, d] (P may be 0) and outputs `present_key`, `present_value` [B, Hkv, P + Lk, d], the
   * projected (LlamaAttention: rotated) keys and values, as heed's `KeyValueCache` holds them.
   */
  cache?: boolean;
  /** Names of the graph inputs (defaults: query, keys, values for attend; x for SelfAttention; query, key, value for MultiHeadAttention; attentionMask; keyPaddingMask; …). */
  inputNames?: Partial<
    Record<
      | 'query'
      | 'keys'
      | 'values'
      | 'x'
      | 'key'
      | 'value'
      | 'attentionMask'
      | 'keyPaddingMask'
      | 'additiveMask'
      | 'querySegments'
      | 'keySegments'
      | 'pastKey'
      | 'pastValue',
      string
    >
  >;
  /** Names of the cache outputs (defaults present_key, present_value). */
  cacheOutputNames?: { presentKey?: string; presentValue?: string };
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
  inputs: { name: string; type: 'float' | 'bool' | 'int64'; shape: (number | string)[] }[];
  outputs: { name: string; type: 'float'; shape: (number | string)[] }[];
  /** The op that computes attention: 'Attention' (ai.onnx), 'MultiHeadAttention' or 'GroupQueryAttention' (com.microsoft), or 'decomposed'. */
  attentionOp: FusedOp | 'decomposed';
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
  checkMaskOptions(options, description.kind);
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

  const { B, Lq } = { B: axes.batch, Lq: axes.queryLength };
  const Lnew = axes.keyLength; // the keys given to this call
  const Lk = options.cache ? 'total_length' : Lnew; // the keys the queries see (P + Lnew with a cache)
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
    selfAttention: null as { pastLength: OffsetValue } | null,
  };
  // The key/value cache: past_key, past_value [B, Hkv, P, d] in, present_key, present_value [B, Hkv, P + L, d] out.
  const cacheDims = (d: number): (number | string)[] => [B, description.numKeyValueHeads, 'past_length', d];
  const past = options.cache
    ? {
        key: graph.input(names.pastKey ?? 'past_key', 'float', cacheDims(description.keyDim)),
        value: graph.input(names.pastValue ?? 'past_value', 'float', cacheDims(description.valueDim)),
      }
    : null;
  const pastLength: OffsetValue = past
    ? graph.op('Squeeze', [graph.op('Shape', [past.key], { start: 2, end: 3 }), graph.int64s([0])], {}, { name: 'past_length' }) // []
    : 0;
  const presentOutputs: { value: string; name: string; shape: (number | string)[] }[] = [];
  /** With a cache: the past keys or values [B, Hkv, P, d] ++ the new ones [B, Hkv, L, d] -> [B, Hkv, P + L, d], a graph output. */
  const cached = (current: string, which: 'key' | 'value'): string => {
    if (!past) return current;
    const present = graph.op('Concat', [past[which], current], { axis: 2 }, { name: `present_${which}` }); // [B, Hkv, P + L, d]
    const name = which === 'key' ? options.cacheOutputNames?.presentKey : options.cacheOutputNames?.presentValue;
    const d = which === 'key' ? description.keyDim : description.valueDim;
    presentOutputs.push({ value: present, name: name ?? `present_${which}`, shape: [B, description.numKeyValueHeads, Lk, d] });
    return present;
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
    const newKeys = heads(projections.key, description.numKeyValueHeads, 'keyProjection'); // [B, Hkv, L, d]
    const newValues = heads(projections.value, description.numKeyValueHeads, 'valueProjection'); // [B, Hkv, L, d]
    const offset = past ? graph.op('Cast', [pastLength as string], { to: 1 }) : zero; // the new positions start at P
    query = rotate(graph, heads(projections.query, description.numHeads, 'queryProjection'), offset, description.queryDim, rope); // [B, H, L, d]
    keys = cached(rotate(graph, newKeys, offset, description.keyDim, rope), 'key'); // [B, Hkv, P + L, d]
    values = cached(newValues, 'value'); // [B, Hkv, P + L, d]
    spec.selfAttention = { pastLength };
    scoresShape = ['mask_batch', 'mask_heads', Lq, Lk];
  } else {
    const projections = description.projections!;
    const queryInput = graph.input(names.query ?? 'query', 'float', [B, Lq, description.inputDims.query]);
    const keyInput = graph.input(names.key ?? 'key', 'float', [B, Lnew, description.inputDims.key]);
    const valueInput = graph.input(names.value ?? 'value', 'float', [B, Lnew, description.inputDims.value]);
    query = splitHeads(graph, linear(graph, parameters, queryInput, projections.query, 'queryProjection'), heads, description.queryDim); // [B, Lq, E] -> [B, H, Lq, d]
    const newKeys = linear(graph, parameters, keyInput, projections.key, 'keyProjection'); // [B, Lnew, kdim] -> [B, Lnew, Hkv·d]
    const newValues = linear(graph, parameters, valueInput, projections.value, 'valueProjection'); // [B, Lnew, vdim] -> [B, Lnew, Hkv·d]
    keys = cached(splitHeads(graph, newKeys, description.numKeyValueHeads, description.keyDim), 'key'); // [B, Hkv, Lk, d]
    values = cached(splitHeads(graph, newValues, description.numKeyValueHeads, description.valueDim), 'value'); // [B, Hkv, Lk, d]
    scoresShape = ['mask_batch', 'mask_heads', Lq, Lk];
  }

  const masks: KeepInputs = {};
  const ownRule = description.keepRule; // LlamaAttention's: causal at the query rows' positions, maybe a sliding window
  if (ownRule)
    Object.assign(
      masks,
      { causal: { offset: pastLength } },
      ownRule.slidingWindow === undefined ? {} : { slidingWindow: ownRule.slidingWindow },
    );
  else if (options.causal === true)
    masks.causal = { offset: pastLength }; // with a cache the new queries follow the past keys, as in heed
  else if (options.causal) masks.causal = { offset: options.causal.offset };
  if (options.attentionMask) masks.attentionMask = graph.input(names.attentionMask ?? 'attentionMask', 'bool', scoresShape);
  if (options.keyPaddingMask) masks.keyPaddingMask = graph.input(names.keyPaddingMask ?? 'keyPaddingMask', 'bool', [B, Lk]);
  if (options.additiveMask) masks.additiveMask = graph.input(names.additiveMask ?? 'additiveMask', 'float', scoresShape);
  if (options.keepRule) {
    const segmentRule = segmentRuleOf(options.keepRule, 'exportToOnnx');
    const segments = segmentRule
      ? {
          query: graph.input(names.querySegments ?? 'querySegments', 'int64', [B, Lq]),
          key: graph.input(names.keySegments ?? 'keySegments', 'int64', [B, Lk]),
        }
      : null;
    masks.keepRule = { rule: options.keepRule, segments };
  }

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
  for (const present of presentOutputs) graph.output(present.value, present.name, 'float', present.shape);

  const built = graph.build();
  const opsetImports = [{ domain: '', version: opset }, ...[...graph.domains].map((domain) => ({ domain, version: 1 }))];
  return {
    bytes: encodeModel({ graph: built, opsetImports, producerName: 'heed', docString: describeExport(description, target) }),
    inputs: built.inputs.map((i) => ({ name: i.name, type: i.type as 'float' | 'bool' | 'int64', shape: [...i.shape] })),
    outputs: [
      { name: outputName, type: 'float', shape: outputShape },
      ...presentOutputs.map((present) => ({ name: present.name, type: 'float' as const, shape: present.shape })),
    ],
    attentionOp: fusedOpFor(spec, masks) ?? 'decomposed',
  };
}

/** The mask options, checked against the source: bad values and options the source cannot take fail here, naming them. */
function checkMaskOptions(options: ExportToOnnxOptions, kind: AttentionDescription['kind']): void {
  const op = 'exportToOnnx';
  const { causal, keepRule } = options;
  if (causal !== undefined && typeof causal !== 'boolean') {
    if (typeof causal !== 'object' || causal === null || !Number.isInteger(causal.offset)) {
      throw new ArgumentError(`causal must be true, false or { offset: integer }, got ${JSON.stringify(causal)}`, {
        op,
        argument: 'causal',
      });
    }
  }
  if (keepRule !== undefined) {
    if (!(keepRule instanceof KeepRule))
      throw new ArgumentError('keepRule must be a KeepRule (SlidingWindowRule, SegmentRule, …)', { op, argument: 'keepRule' });
    checkExportableRule(keepRule, op);
  }
  if (options.cache && kind !== 'multi-head' && kind !== 'llama') {
    throw new ConfigError(`cache: a key/value cache belongs to MultiHeadAttention and LlamaAttention, not to a ${kind} export`, {
      op,
      argument: 'cache',
    });
  }
  if (kind === 'llama') {
    const given = (['attentionMask', 'keyPaddingMask', 'additiveMask', 'causal', 'keepRule'] as const).filter(
      (name) => options[name] !== undefined,
    );
    if (given.length > 0) {
      throw new ConfigError(
        `LlamaAttention is causal (or its sliding window) by construction and its forward takes no masks; got ${given.join(', ')}`,
        { op, argument: given[0]! },
      );
    }
  }
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
