import { concat, formatShape, Module, ShapeError, split, type Tensor } from '@heed/tensor';
import { scorerBrand, type Scorer } from '@heed/scorers';

// Shape letters: B batch, H heads, Lq queries, Lk keys, dq/dk per-head feature sizes.

/**
 * One scorer per head, seen as one scorer: head h of the query is scored against head h of the keys
 * by `scorers[h]` (each with its own parameters). query [B, H, Lq, dq] x keys [B, H, Lk, dk] -> [B, H, Lq, Lk].
 */
export class PerHeadScorer extends Module implements Scorer {
  readonly kind: string;
  readonly [scorerBrand] = true as const;

  constructor(readonly scorers: readonly Scorer[]) {
    super();
    this.kind = scorers[0]?.kind ?? 'per-head';
  }

  /** [B, H, Lq, dq] x [B, H, Lk, dk] -> [B, H, Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    const H = this.scorers.length;
    if (query.rank < 3 || keys.rank < 3 || query.shape[query.rank - 3] !== H || keys.shape[keys.rank - 3] !== H) {
      throw new ShapeError(
        `holds ${H} scorers, so query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)} must be [..., H = ${H}, L, d]`,
        {
          op: 'PerHeadScorer.score',
          argument: query.shape[query.rank - 3] !== H ? 'query' : 'keys',
          shapes: { query: query.shape, keys: keys.shape },
        },
      );
    }
    const queryHeads = split(query, H, -3); // H × [..., 1, Lq, dq]
    const keyHeads = split(keys, H, -3); // H × [..., 1, Lk, dk]
    const scores = this.scorers.map((scorer, h) => scorer.score(queryHeads[h]!, keyHeads[h]!)); // H × [..., 1, Lq, Lk]
    return concat(scores, -3); // [..., H, Lq, Lk]
  }
}
