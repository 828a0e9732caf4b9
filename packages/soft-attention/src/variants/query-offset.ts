import { ArgumentError } from '@heed/tensor';

/**
 * Where the queries sit among the keys: query row r is at absolute position r + offset, key j at j.
 * 0 (top-left, the default) for self-attention over one sequence; 'bottom-right' = Lk − Lq when the
 * queries are the last Lq of the Lk positions (decoding with a cache of Lk − Lq earlier tokens).
 */
export type QueryPositionOffset = number | 'bottom-right';

/** The numeric offset of `offset` for Lq queries and Lk keys; checked (an integer, or 'bottom-right'). */
export function resolveQueryOffset(offset: QueryPositionOffset | undefined, queryLength: number, keyLength: number, op: string): number {
  if (offset === undefined) return 0;
  if (offset === 'bottom-right') return keyLength - queryLength;
  if (!Number.isInteger(offset)) {
    throw new ArgumentError(`queryPositionOffset must be an integer or 'bottom-right', got ${JSON.stringify(offset)}`, {
      op,
      argument: 'queryPositionOffset',
    });
  }
  return offset;
}
