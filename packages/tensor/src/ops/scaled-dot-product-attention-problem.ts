import { ArgumentError } from '../errors/argument-error';
import { describeValue, expectTensor } from '../expect-tensor';
import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import type { AttentionProblem } from '../kernels/attention';
import { broadcastShapes, broadcastStrides, sameShape, sizeOf } from '../shape';
import type { Tensor } from '../tensor';

// Shape letters: ... leading (batch, heads) dims of the query, Lq queries, Lk keys, d features, dv value features.

export interface ScaledDotProductAttentionOptions {
  /** Multiplies q·k before the softmax; default 1/√d. */
  scale?: number;
  /** Query i may attend key j ≤ i (`true`, top-left aligned) or j ≤ i + offset (`{ offset }`; Lk − Lq aligns bottom-right). */
  causal?: boolean | { offset: number };
  /**
   * Query i may attend only keys j ≥ i + windowStart: a window's first key. With `causal` it bounds a band,
   * computed tile by tile and skipping the key tiles outside it (cost O(L·W), not O(L²)): the causal sliding
   * window of W keys is `{ causal: true, windowStart: 1 − W }`, the local window of w keys each side
   * `{ causal: { offset: w }, windowStart: −w }` (shift both by Lk − Lq to align bottom-right).
   */
  windowStart?: number | null;
  /** Keep-mask (non-zero = may attend) broadcastable to [..., Lq, Lk]; never differentiated. */
  attentionMask?: Tensor | null;
  /**
   * Query heads per key/value head (grouped-query attention): query [..., H, Lq, d] with keys and
   * values [..., H / groupSize, Lk, d]; query head h reads key/value head ⌊h / groupSize⌋. Default 1.
   */
  groupSize?: number;
  /**
   * Where the heads axis sits (default 'heads-first'):
   *   'heads-first'     query [..., H, Lq, d], keys [..., Hkv, Lk, d], values [..., Hkv, Lk, dv] -> [..., H, Lq, dv]
   *   'sequence-first'  query [..., Lq, H, d], keys [..., Lk, Hkv, d], values [..., Lk, Hkv, dv] -> [..., Lq, H, dv]
   * 'sequence-first' is a projection's output [..., L, H·d] reshaped, so the heads need no permute (nor
   * their gradients). The scores stay [..., H, Lq, Lk] either way: `attentionMask` broadcasts to them and
   * logSumExp is [..., H, Lq]. (With 'heads-first' the heads axis is simply one of the leading dims.)
   */
  layout?: 'heads-first' | 'sequence-first';
  /**
   * ALiBi slopes m_h, one per query head H (the last leading dim of the scores [..., H, Lq, Lk]): adds
   * m_h · (j − i − queryPositionOffset) to the scaled score. Constants (no gradient).
   */
  alibiSlopes?: readonly number[] | Float32Array | null;
  /** Query row i sits at position i + queryPositionOffset for ALiBi (keys at 0..Lk−1); default 0. */
  queryPositionOffset?: number;
  /**
   * A relative position bias by offset [H, Lq + Lk − 1]: adds positionBias[h, j − i + Lq − 1] to the scaled
   * score (after ALiBi, before the cap). Differentiable: its gradient sums along the diagonals.
   */
  positionBias?: Tensor | null;
  /** Logit soft-cap c > 0: scores become c · tanh(score / c) after scale and biases (Gemma 2). */
  softcap?: number | null;
  /** Sink logits [H], one per query head, in each row's softmax denominator with no value (gpt-oss). Differentiable. */
  sinks?: Tensor | null;
  /**
   * Segment ids (document masking): query i of batch element b attends key j only when
   * querySegments[b][i] === keySegments[b][j]; [B, Lq] and [B, Lk] flattened, B the first leading dim.
   */
  querySegments?: Int32Array | null;
  keySegments?: Int32Array | null;
}

/** A checked attention call: the kernel's problem, the query's leading dims and the output shape. */
export interface ResolvedAttention {
  problem: AttentionProblem;
  /** The leading dims of the scores [..., Lq, Lk] (their product is `problem.n`): [..., H] with 'sequence-first'. */
  lead: number[];
  /** The output's shape: [..., Lq, dv], or [..., Lq, H, dv] with 'sequence-first'. */
  outputShape: number[];
}

/**
 * Checks query [..., Lq, d], keys [..., Lk, d] and values [..., Lk, dv] (values may be null when only
 * weights are wanted; with layout 'sequence-first' [..., L, H, ·]) with the options, and describes the
 * call for the attention kernels. Errors name `op`, the argument and the shapes.
 */
export function resolveAttention(
  op: string,
  query: Tensor,
  keys: Tensor,
  values: Tensor | null,
  options: ScaledDotProductAttentionOptions,
): ResolvedAttention {
  expectTensor(op, 'query', query);
  expectTensor(op, 'keys', keys);
  if (values !== null) expectTensor(op, 'values', values);
  if (typeof options !== 'object' || options === null)
    throw new ArgumentError(`options must be an object, got ${describeValue(options)}`, { op, argument: 'options' });
  const shapes: Record<string, readonly number[]> = { query: query.shape, keys: keys.shape };
  if (values) shapes.values = values.shape;
  const layout = options.layout ?? 'heads-first';
  if (layout !== 'heads-first' && layout !== 'sequence-first') {
    throw new ArgumentError(`layout must be 'heads-first' or 'sequence-first', got ${JSON.stringify(layout)}`, {
      op,
      argument: 'layout',
      shapes,
    });
  }
  const sequenceFirst = layout === 'sequence-first';
  const minRank = sequenceFirst ? 3 : 2;
  const form = sequenceFirst
    ? { query: '[..., Lq, H, d]', keys: '[..., Lk, Hkv, d]', values: '[..., Lk, Hkv, dv]' }
    : { query: '[..., Lq, d]', keys: '[..., Lk, d]', values: '[..., Lk, dv]' };
  if (query.rank < minRank || keys.rank !== query.rank) {
    throw new ShapeError(
      `query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)} must be ${form.query} and ${form.keys} of the same rank ≥ ${minRank}`,
      {
        op,
        argument: query.rank < minRank ? 'query' : 'keys',
        shapes,
      },
    );
  }
  const rank = query.rank;
  // The heads-first reading of each shape: 'sequence-first' [..., L, H, ·] is checked as [..., H, L, ·].
  const headsFirst = (shape: readonly number[]): number[] =>
    sequenceFirst ? [...shape.slice(0, -3), shape[rank - 2]!, shape[rank - 3]!, shape[rank - 1]!] : [...shape];
  const queryShape = headsFirst(query.shape);
  const keyShape = headsFirst(keys.shape);
  const Lq = queryShape[rank - 2]!;
  const d = queryShape[rank - 1]!;
  const Lk = keyShape[rank - 2]!;
  if (keyShape[rank - 1] !== d) {
    throw new ShapeError(
      `query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)} must have the same feature size d (${d} vs ${keyShape[rank - 1]})`,
      {
        op,
        argument: 'keys',
        shapes,
      },
    );
  }

  const groupSize = options.groupSize ?? 1;
  if (!Number.isInteger(groupSize) || groupSize < 1) {
    throw new ArgumentError(`groupSize must be a positive integer, got ${groupSize}`, { op, argument: 'groupSize', shapes });
  }
  const lead = queryShape.slice(0, -2);
  const keyLead = keyShape.slice(0, -2);
  // GQA: the head axis of the query is groupSize times that of keys; every other leading dim agrees.
  const expectedKeyLead = groupSize === 1 ? lead : [...lead.slice(0, -1), (lead[lead.length - 1] ?? 1) / groupSize];
  if (groupSize > 1 && (rank < 3 || lead[lead.length - 1]! % groupSize !== 0)) {
    const heads = sequenceFirst ? '[..., Lq, H, d]' : '[..., H, Lq, d]';
    throw new ShapeError(
      `groupSize ${groupSize} needs query ${heads} with H a multiple of ${groupSize}, got query ${formatShape(query.shape)}`,
      {
        op,
        argument: 'groupSize',
        shapes,
      },
    );
  }
  if (!sameShape(keyLead, expectedKeyLead)) {
    const hint =
      groupSize === 1 &&
      rank >= 3 &&
      keyLead.length === lead.length &&
      sameShape(keyLead.slice(0, -1), lead.slice(0, -1)) &&
      lead[lead.length - 1]! % keyLead[keyLead.length - 1]! === 0
        ? ` (for grouped-query attention pass groupSize: ${lead[lead.length - 1]! / keyLead[keyLead.length - 1]!})`
        : '';
    const expected = sequenceFirst
      ? `${formatShape([...expectedKeyLead.slice(0, -1), Lk, expectedKeyLead[expectedKeyLead.length - 1]!, d])} ([..., Lk, Hkv, d])`
      : `leading dims ${formatShape(expectedKeyLead)}`;
    throw new ShapeError(
      `keys ${formatShape(keys.shape)} must have ${expected} for query ${formatShape(query.shape)} with groupSize ${groupSize}${hint}`,
      {
        op,
        argument: 'keys',
        shapes,
      },
    );
  }
  let dv = 0;
  if (values) {
    if (values.rank !== rank || !sameShape(values.shape.slice(0, -1), keys.shape.slice(0, -1))) {
      throw new ShapeError(
        `values ${formatShape(values.shape)} must be ${form.values} with the leading dims and Lk of keys ${formatShape(keys.shape)}`,
        {
          op,
          argument: 'values',
          shapes,
        },
      );
    }
    dv = values.shape[rank - 1]!;
  }

  const scale = options.scale ?? (d > 0 ? 1 / Math.sqrt(d) : 1);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new ArgumentError(`scale must be a finite number, got ${scale}`, { op, argument: 'scale', shapes });
  }

  let causalOffset: number | null = null;
  if (options.causal === true) causalOffset = 0;
  else if (typeof options.causal === 'object' && options.causal !== null) {
    causalOffset = options.causal.offset;
    if (!Number.isInteger(causalOffset)) {
      throw new ArgumentError(`causal.offset must be an integer, got ${causalOffset}`, { op, argument: 'causal', shapes });
    }
  }

  const windowStart = options.windowStart ?? null;
  if (windowStart !== null && !Number.isInteger(windowStart)) {
    throw new ArgumentError(`windowStart must be an integer, got ${windowStart}`, { op, argument: 'windowStart', shapes });
  }

  const n = sizeOf(lead);
  const { keep, keepStrides } = keepLayout(op, options.attentionMask ?? null, lead, Lq, Lk, shapes);
  const problem: AttentionProblem = {
    n,
    queryLength: Lq,
    keyLength: Lk,
    headDim: d,
    valueDim: dv,
    scale,
    causalOffset,
    attentionMask: keep,
    attentionMaskStrides: keepStrides,
    groupSize,
  };
  if (windowStart !== null) problem.windowStart = windowStart;
  if (sequenceFirst) Object.assign(problem, { layout, heads: lead[lead.length - 1]! });
  resolveVariants(op, problem, options, lead, shapes);
  const outputShape = sequenceFirst ? [...query.shape.slice(0, -1), dv] : [...lead, Lq, dv];
  return { problem, lead, outputShape };
}

/**
 * The keep-mask as the kernels read it: data plus strides over (slice, query, key). A mask whose
 * leading dims are all broadcast (e.g. [Lq, Lk]) or all full is read in place; otherwise (e.g.
 * key padding [B, 1, 1, Lk] under [B, H, Lq, Lk]) it is expanded over the leading dims only, to
 * [n, 1 or Lq, 1 or Lk], never over a broadcast query or key axis.
 */
function keepLayout(
  op: string,
  keep: Tensor | null,
  lead: readonly number[],
  Lq: number,
  Lk: number,
  shapes: Record<string, readonly number[]>,
): { keep: Float32Array | null; keepStrides: readonly [number, number, number] } {
  if (keep === null) return { keep: null, keepStrides: [0, 0, 0] };
  const target = [...lead, Lq, Lk];
  let fits = keep.rank <= target.length;
  if (fits) {
    try {
      fits = sameShape(broadcastShapes(target, keep.shape, op, ['scores', 'attentionMask']), target);
    } catch {
      fits = false;
    }
  }
  if (!fits) {
    throw new ShapeError(`attentionMask ${formatShape(keep.shape)} does not broadcast to the scores ${formatShape(target)}`, {
      op,
      argument: 'attentionMask',
      shapes: { ...shapes, attentionMask: keep.shape },
    });
  }
  const strides = broadcastStrides(keep.shape, target);
  const queryStride = strides[lead.length]!;
  const keyStride = strides[lead.length + 1]!;
  // One slice stride S fits when every non-trivial leading dim i has stride S · (product of the dims after it).
  let sliceStride: number | null = null;
  let collapsible = true;
  let inner = 1;
  for (let i = lead.length - 1; i >= 0; i--) {
    const size = lead[i]!;
    if (size > 1) {
      const stride = strides[i]!;
      if (sliceStride === null) {
        sliceStride = stride / inner;
        if (!Number.isInteger(sliceStride)) collapsible = false;
      } else if (stride !== sliceStride * inner) collapsible = false;
    }
    inner *= size;
  }
  if (collapsible) return { keep: keep.data, keepStrides: [sliceStride ?? 0, queryStride, keyStride] };

  // Expand over the leading dims only: [n, rowsKept, colsKept].
  const rowsKept = queryStride === 0 ? 1 : Lq;
  const colsKept = keyStride === 0 ? 1 : Lk;
  const n = sizeOf(lead);
  const data = new Float32Array(n * rowsKept * colsKept); // [n, 1 or Lq, 1 or Lk]
  const index = new Array<number>(lead.length).fill(0);
  let source = 0;
  for (let s = 0; s < n; s++) {
    const base = s * rowsKept * colsKept;
    for (let i = 0; i < rowsKept; i++)
      for (let j = 0; j < colsKept; j++) data[base + i * colsKept + j] = keep.data[source + i * queryStride + j * keyStride]!;
    for (let dim = lead.length - 1; dim >= 0; dim--) {
      index[dim]!++;
      source += strides[dim]!;
      if (index[dim]! < lead[dim]!) break;
      source -= strides[dim]! * index[dim]!;
      index[dim] = 0;
    }
  }
  return { keep: data, keepStrides: [rowsKept * colsKept, rowsKept === 1 ? 0 : colsKept, colsKept === 1 ? 0 : 1] };
}

/**
 * Checks the variant options against the scores [..., H, Lq, Lk] (H the last leading dim, B the first)
 * and writes them into the problem, with `heads` so the kernels find a slice's head and batch element.
 */
function resolveVariants(
  op: string,
  problem: AttentionProblem,
  options: ScaledDotProductAttentionOptions,
  lead: readonly number[],
  shapes: Record<string, readonly number[]>,
): void {
  const { alibiSlopes, positionBias, softcap, sinks, querySegments, keySegments } = options;
  const { n, queryLength: Lq, keyLength: Lk } = problem;
  const perHeadTerms = alibiSlopes != null || positionBias != null || sinks != null;
  const segmented = querySegments != null || keySegments != null;
  if (!perHeadTerms && !segmented && softcap == null) return;
  // The heads are the last leading dim; with one leading dim it is H for the per-head terms, B for the segments alone.
  const H = lead.length >= 2 || problem.layout === 'sequence-first' || (perHeadTerms && lead.length === 1) ? lead[lead.length - 1]! : 1;
  if (perHeadTerms && segmented && lead.length < 2) {
    throw new ShapeError(
      `per-head terms with segments need heads and batch: query [B, H, Lq, d], got scores ${formatShape([...lead, Lq, Lk])}`,
      {
        op,
        argument: 'querySegments',
        shapes,
      },
    );
  }
  const B = H > 0 ? n / H : 0;
  problem.heads = H;
  const perHead = (argument: string, length: number, expected: number) => {
    if (length !== expected) {
      throw new ShapeError(
        `${argument} has ${length} entries; it needs ${expected} (${argument === 'positionBias' ? '[H, Lq + Lk − 1]' : 'one per query head H'} for scores ${formatShape([...lead, Lq, Lk])})`,
        {
          op,
          argument,
          shapes: { ...shapes, [argument]: [length] },
        },
      );
    }
  };
  if (alibiSlopes != null) {
    perHead('alibiSlopes', alibiSlopes.length, H);
    if (!Array.from(alibiSlopes).every(Number.isFinite))
      throw new ArgumentError('alibiSlopes must be finite numbers', { op, argument: 'alibiSlopes', shapes });
    problem.alibiSlopes = Float32Array.from(alibiSlopes);
    const offset = options.queryPositionOffset ?? 0;
    if (!Number.isInteger(offset))
      throw new ArgumentError(`queryPositionOffset must be an integer, got ${offset}`, { op, argument: 'queryPositionOffset', shapes });
    problem.queryPositionOffset = offset;
  }
  if (positionBias != null) {
    if (positionBias.rank !== 2 || positionBias.shape[0] !== H || positionBias.shape[1] !== Lq + Lk - 1) {
      throw new ShapeError(`positionBias ${formatShape(positionBias.shape)} must be [H, Lq + Lk − 1] = [${H}, ${Lq + Lk - 1}]`, {
        op,
        argument: 'positionBias',
        shapes: { ...shapes, positionBias: positionBias.shape },
      });
    }
    problem.positionBias = positionBias.storage === null ? positionBias.data : null; // on a device: read by deviceAttentionProblem
  }
  if (softcap != null) {
    if (typeof softcap !== 'number' || !Number.isFinite(softcap) || softcap <= 0)
      throw new ArgumentError(`softcap must be a finite number > 0, got ${softcap}`, { op, argument: 'softcap', shapes });
    problem.softcap = softcap;
  }
  if (sinks != null) {
    perHead('sinks', sinks.size, H);
    problem.sinks = sinks.storage === null ? sinks.data : null; // on a device: read by deviceAttentionProblem
  }
  if (querySegments != null || keySegments != null) {
    if (querySegments == null || keySegments == null)
      throw new ArgumentError('querySegments and keySegments are given together', {
        op,
        argument: querySegments == null ? 'querySegments' : 'keySegments',
        shapes,
      });
    if (querySegments.length !== B * Lq || keySegments.length !== B * Lk) {
      throw new ShapeError(
        `querySegments (${querySegments.length} ids) and keySegments (${keySegments.length}) must be [B, Lq] = [${B}, ${Lq}] and [B, Lk] = [${B}, ${Lk}]`,
        {
          op,
          argument: querySegments.length !== B * Lq ? 'querySegments' : 'keySegments',
          shapes,
        },
      );
    }
    problem.querySegments = querySegments;
    problem.keySegments = keySegments;
  }
}
