import { ConfigError, formatShape, Module, ShapeError, Tensor } from '@heed/tensor';
import type { Scorer, ScorerSpec } from '@heed/scorers';
import { resolveScorer } from '../resolve-scorer';
import { resolveQueryOffset, type QueryPositionOffset } from './query-offset';

// Shape letters: H heads, Lq queries, Lk keys, ... leading dims (B).

/** Where the scores sit: query row r is at absolute position r + queryOffset, key j at j. */
export interface ScorePositions {
  queryLength: number;
  keyLength: number;
  queryOffset: number;
}

/**
 * A user-defined score modifier, FlexAttention's score_mod for whole tensors: a function of the scores
 * [..., Lq, Lk] and their positions that returns new scores of the same shape, built from public tensor
 * ops (so it has gradients). `kind` names it in errors and plans.
 */
export interface ScoreModifier {
  readonly kind: string;
  modify(scores: Tensor, positions: ScorePositions): Tensor;
}

/**
 * score(q, k) = modifier(inner(q, k), positions): any scorer, then any score modifier.
 * query [..., Lq, dq] x keys [..., Lk, dk] -> [..., Lq, Lk]. A modifier that is a Module trains with it.
 */
export class ModifiedScorer extends Module implements Scorer {
  readonly kind: string;
  readonly inner: Scorer;
  readonly modifier: ScoreModifier;
  readonly queryPositionOffset: QueryPositionOffset;

  constructor(modifier: ScoreModifier, options: { inner?: Scorer | ScorerSpec; queryPositionOffset?: QueryPositionOffset } = {}) {
    super();
    if (typeof modifier?.modify !== 'function' || typeof modifier.kind !== 'string') {
      throw new ConfigError(
        'modifier must be a ScoreModifier: { kind: string, modify(scores, { queryLength, keyLength, queryOffset }) -> scores }',
        { op: 'ModifiedScorer', argument: 'modifier' },
      );
    }
    const offset = options.queryPositionOffset;
    if (offset !== undefined && offset !== 'bottom-right' && !Number.isInteger(offset)) {
      throw new ConfigError(`queryPositionOffset must be an integer or 'bottom-right', got ${JSON.stringify(offset)}`, {
        op: 'ModifiedScorer',
        argument: 'queryPositionOffset',
      });
    }
    this.modifier = modifier;
    this.inner = resolveScorer(options.inner, { op: 'ModifiedScorer' });
    this.queryPositionOffset = offset ?? 0;
    this.kind = `${modifier.kind}+${this.inner.kind}`;
  }

  /** [..., Lq, dq] x [..., Lk, dk] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    const scores = this.inner.score(query, keys); // [..., Lq, Lk]
    const queryLength = scores.shape[scores.rank - 2]!;
    const keyLength = scores.shape[scores.rank - 1]!;
    const queryOffset = resolveQueryOffset(this.queryPositionOffset, queryLength, keyLength, `${this.kind}.score`);
    const modified = this.modifier.modify(scores, { queryLength, keyLength, queryOffset }); // [..., Lq, Lk]
    if (!(modified instanceof Tensor) || modified.shape.join() !== scores.shape.join()) {
      throw new ShapeError(
        `the ${this.modifier.kind} modifier returned ${modified instanceof Tensor ? formatShape(modified.shape) : 'no Tensor'} for scores ${formatShape(scores.shape)}; it must keep their shape`,
        {
          op: `${this.kind}.score`,
          argument: 'modifier',
          shapes: { scores: scores.shape, ...(modified instanceof Tensor ? { modified: modified.shape } : {}) },
        },
      );
    }
    return modified;
  }
}
