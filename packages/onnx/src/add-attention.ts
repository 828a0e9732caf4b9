import { KeepRule, type SoftAttention } from '@heed/soft-attention';
import { ArgumentError, type Parameter } from '@heed/tensor';
import { attentionCore, type OnnxTarget } from './attention-core';
import type { GraphBuilder } from './graph-builder';
import { checkExportableRule, segmentRuleOf, type KeepInputs } from './keep-mask';
import { ParameterTable } from './parameter-table';
import { describe, type AttendConfig, type AttendDims } from './read-module';

// Shape letters: B batch, H heads (when dims.numHeads is set), Hkv key/value heads, Lq queries, Lk keys,
// dq/dk/dv feature sizes.

/** The graph values attention reads: names of values already in the graph (inputs or node outputs). */
export interface AttentionValues {
  /** [B, (H,) Lq, dq] */
  query: string;
  /** [B, (Hkv,) Lk, dk] */
  keys: string;
  /** [B, (Hkv,) Lk, dv] */
  values: string;
  /** bool, broadcastable to the scores [B, (H,) Lq, Lk]; true = may attend. */
  attentionMask?: string;
  /** bool [B, Lk]; true = a real key. */
  keyPaddingMask?: string;
  /** float, broadcastable to the scores, added to them (−∞ drops a key). */
  additiveMask?: string;
  /** int64 [B, Lq] and [B, Lk]: the segment ids a `SegmentRule` in `keepRule` reads. */
  querySegments?: string;
  keySegments?: string;
}

export interface AddAttentionOptions {
  /** The feature sizes (and heads) of query, keys and values. */
  dims: AttendDims;
  /** Which ops compute attention (default 'standard'; the graph's model must import opset 23 for it). */
  target?: OnnxTarget;
  /** Query i attends keys j ≤ i (+ offset). */
  causal?: boolean | { offset: number };
  /** A keep rule built from heed's rules (see `ExportToOnnxOptions.keepRule`). */
  keepRule?: KeepRule;
  /** Prepended to the initializers' names: the module's name in the model around it (e.g. 'attention.'). */
  parameterPrefix?: string;
}

/**
 * Writes heed attention — an `attend` configuration or a `SoftAttention` — into a graph someone is
 * building, between values already there, so a whole model (embeddings, encoders, read-outs around the
 * attention) exports as one ONNX model. The scorer's and normalizer's weights become initializers under
 * `parameterPrefix` + heed's names. Returns the name of the context [B, (H,) Lq, dv].
 */
export function addAttention(
  graph: GraphBuilder,
  source: AttendConfig | SoftAttention,
  values: AttentionValues,
  options: AddAttentionOptions,
): string {
  const op = 'addAttention';
  const target = options.target ?? 'standard';
  if (!['standard', 'contrib', 'decomposed'].includes(target))
    throw new ArgumentError(`target must be one of 'standard', 'contrib', 'decomposed', got ${JSON.stringify(target)}`, {
      op,
      argument: 'target',
    });
  const description = describe(source, options.dims);
  const prefix = options.parameterPrefix ?? '';
  const named: [string, Parameter][] = description.namedParameters.map(([name, parameter]) => [`${prefix}${name}`, parameter]);
  const parameters = new ParameterTable(graph, named);
  const masks: KeepInputs = {};
  const { causal, keepRule } = options;
  if (causal === true) masks.causal = { offset: 0 };
  else if (causal && typeof causal === 'object' && Number.isInteger(causal.offset)) masks.causal = { offset: causal.offset };
  else if (causal !== undefined && causal !== false)
    throw new ArgumentError(`causal must be true, false or { offset: integer }, got ${JSON.stringify(causal)}`, { op, argument: 'causal' });
  for (const name of ['attentionMask', 'keyPaddingMask', 'additiveMask'] as const) if (values[name]) masks[name] = values[name];
  if (keepRule !== undefined) {
    if (!(keepRule instanceof KeepRule))
      throw new ArgumentError('keepRule must be a KeepRule (SlidingWindowRule, SegmentRule, …)', { op, argument: 'keepRule' });
    checkExportableRule(keepRule, op);
    const segmented = segmentRuleOf(keepRule, op) !== null;
    if (segmented && (!values.querySegments || !values.keySegments)) {
      throw new ArgumentError('keepRule holds a SegmentRule: give values.querySegments and values.keySegments (int64 [B, Lq], [B, Lk])', {
        op,
        argument: 'values',
      });
    }
    masks.keepRule = { rule: keepRule, segments: segmented ? { query: values.querySegments!, key: values.keySegments! } : null };
  }
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
    op,
  };
  return attentionCore(graph, parameters, values.query, values.keys, values.values, masks, spec); // [B, (H,) Lq, dv]
}
