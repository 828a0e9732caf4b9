import { ArgumentError, ConfigError, formatShape, ShapeError, Tensor } from '@heed/tensor';
import { CausalRule } from './causal-rule';
import { KeepRule, type KeepRuleMaskOptions } from './keep-rule';

/** Segment ids per batch row: [B, L] as nested arrays or a tensor. */
export type SegmentIds = readonly (readonly number[])[] | Tensor;

/**
 * Document masking for packed sequences: query i of batch b attends key j only when both belong to
 * the same segment (querySegments[b][i] === keySegments[b][j]). Combine with causal: `.and(new CausalRule())`.
 */
export class SegmentRule extends KeepRule {
  readonly kind = 'segments';
  readonly querySegments: number[][];
  readonly keySegments: number[][];

  constructor(querySegments: SegmentIds, keySegments: SegmentIds = querySegments) {
    super();
    this.querySegments = segmentRows('SegmentRule', 'querySegments', querySegments, ConfigError);
    this.keySegments = segmentRows('SegmentRule', 'keySegments', keySegments, ConfigError);
    if (this.querySegments.length !== this.keySegments.length) {
      throw new ConfigError(`querySegments has ${this.querySegments.length} batch rows, keySegments ${this.keySegments.length}`, {
        op: 'SegmentRule',
        argument: 'keySegments',
      });
    }
  }

  allows(b: number, _h: number, i: number, j: number): boolean {
    return this.querySegments[b]![i] === this.keySegments[b]![j];
  }

  /** As `KeepRule.toMask`, after checking that the shape fits the segment ids: [B, Lq, Lk] or [B, H, Lq, Lk] (or [Lq, Lk] for B = 1). */
  override toMask(shape: readonly number[], options: KeepRuleMaskOptions = {}): Tensor {
    const B = this.querySegments.length;
    const queries = this.querySegments[0]?.length ?? 0;
    const keys = this.keySegments[0]?.length ?? 0;
    const [Lq, Lk] = shape.slice(-2) as [number, number];
    const offset = options.queryOffset ?? 0;
    const batch = shape.length >= 3 ? shape[0] : 1;
    if (shape.length >= 2 && (batch !== B || Lk > keys || offset < 0 || offset + Lq > queries)) {
      throw new ShapeError(
        `shape ${formatShape(shape)} does not fit the segment ids: B = ${B} rows (give [B, Lq, Lk] or [B, H, Lq, Lk]), ${queries} query positions (queryOffset ${offset}), ${keys} key positions`,
        {
          op: 'segments.toMask',
          argument: 'shape',
          shapes: { shape, querySegments: [B, queries], keySegments: [B, keys] },
        },
      );
    }
    return super.toMask(shape, options);
  }
}

/** The segment rule as a keep-mask [B, 1, Lq, Lk] (broadcasts over heads), optionally causal too. */
export function segmentMask(
  querySegments: SegmentIds,
  keySegments: SegmentIds = querySegments,
  options: { causal?: boolean } = {},
): Tensor {
  const queries = segmentRows('segmentMask', 'querySegments', querySegments, ArgumentError);
  const keys = segmentRows('segmentMask', 'keySegments', keySegments, ArgumentError);
  if (queries.length !== keys.length) {
    throw new ArgumentError(`querySegments has ${queries.length} batch rows, keySegments ${keys.length}`, {
      op: 'segmentMask',
      argument: 'keySegments',
    });
  }
  const rule = new SegmentRule(queries, keys);
  const [B, Lq, Lk] = [queries.length, queries[0]?.length ?? 0, keys[0]?.length ?? 0];
  const keep = options.causal ? rule.and(new CausalRule()) : rule;
  return keep.toMask([B, 1, Lq, Lk]);
}

/** Segment ids as rows of equal length [B][L]. */
function segmentRows(op: string, argument: string, ids: SegmentIds, Failure: typeof ArgumentError): number[][] {
  let rows: number[][];
  if (ids instanceof Tensor) {
    if (ids.rank !== 2)
      throw new Failure(`${argument} must be [B, L], got a tensor of shape [${ids.shape.join(', ')}]`, {
        op,
        argument,
        shapes: { [argument]: ids.shape },
      });
    const L = ids.shape[1]!;
    rows = Array.from({ length: ids.shape[0]! }, (_, b) => Array.from(ids.data.subarray(b * L, (b + 1) * L)));
  } else {
    if (!Array.isArray(ids) || !ids.every((row) => Array.isArray(row) || ArrayBuffer.isView(row)))
      throw new Failure(`${argument} must be [B, L] segment ids (one array of ids per batch row)`, { op, argument });
    rows = ids.map((row) => Array.from(row as ArrayLike<number>));
  }
  if (!rows.every((row) => row.every((id) => Number.isFinite(id))))
    throw new Failure(`${argument} must hold finite numbers (segment ids)`, { op, argument });
  if (rows.some((row) => row.length !== rows[0]!.length))
    throw new Failure(`${argument} rows must all have the same length`, { op, argument });
  return rows;
}
