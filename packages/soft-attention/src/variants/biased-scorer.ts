import { add, ConfigError, deviceBackend, formatShape, Module, ShapeError, Tensor } from '@heed/tensor';
import type { Scorer, ScorerSpec } from '@heed/scorers';
import { resolveScorer } from '../resolve-scorer';
import { resolveQueryOffset, type QueryPositionOffset } from './query-offset';

// Shape letters: H heads, Lq queries, Lk keys, ... leading dims (B).

/**
 * What the fused attention kernels can add for a bias (see `ScoreBias.fusedBias`): ALiBi's slopes
 * m_h · (j − i − queryOffset), or a table by offset, bias[h, i, j] = table[h, j − i + Lq − 1] ([H, Lq + Lk − 1],
 * differentiable).
 */
export type FusedBias = { kind: 'alibi'; slopes: readonly number[] } | { kind: 'relative'; table: Tensor };

/**
 * A score modifier by (head, i, j): a bias [H, Lq, Lk] for Lq queries at absolute positions
 * offset..offset+Lq−1 and Lk keys at 0..Lk−1, added to the scores of every batch element.
 * ALiBi, T5's relative position bias, or a user's own: `{ kind, bias }`. A Module's parameters train.
 */
export interface ScoreBias {
  readonly kind: string;
  /** -> [H, Lq, Lk] (H = 1 broadcasts over the heads) */
  bias(queryLength: number, keyLength: number, queryOffset: number): Tensor;
  /**
   * Opt-in to the fused path: the same bias as slopes or a table by offset j − i (see `FusedBias`), or null.
   * A bias that depends on i and j only through j − i can declare it; leave it out otherwise.
   */
  fusedBias?(queryLength: number, keyLength: number, queryOffset: number): FusedBias | null;
}

export interface BiasedScorerOptions {
  /** The scorer whose scores get the bias (default scaled-dot, 1/√d). */
  inner?: Scorer | ScorerSpec;
  /** Query row r is at position r + offset (default 0; 'bottom-right' when decoding with a cache). */
  queryPositionOffset?: QueryPositionOffset;
}

/**
 * score(q_i, k_j) = inner(q_i, k_j) + bias[h, i, j]: a scorer wrapper for position biases.
 * query [..., H, Lq, dq] x keys [..., H, Lk, dk] -> [..., H, Lq, Lk] (heads-first, as `attend` gives them).
 */
export class BiasedScorer extends Module implements Scorer {
  readonly kind: string;
  readonly inner: Scorer;
  readonly positionBias: ScoreBias;
  readonly queryPositionOffset: QueryPositionOffset;

  constructor(positionBias: ScoreBias, options: BiasedScorerOptions = {}) {
    super();
    if (typeof positionBias?.bias !== 'function' || typeof positionBias.kind !== 'string') {
      throw new ConfigError(
        'positionBias must be a ScoreBias: { kind: string, bias(queryLength, keyLength, queryOffset) -> [H, Lq, Lk] }',
        { op: 'BiasedScorer', argument: 'positionBias' },
      );
    }
    const offset = options.queryPositionOffset;
    if (offset !== undefined && offset !== 'bottom-right' && !Number.isInteger(offset)) {
      throw new ConfigError(`queryPositionOffset must be an integer or 'bottom-right', got ${JSON.stringify(offset)}`, {
        op: 'BiasedScorer',
        argument: 'queryPositionOffset',
      });
    }
    this.positionBias = positionBias;
    this.inner = resolveScorer(options.inner, { op: 'BiasedScorer' });
    this.queryPositionOffset = offset ?? 0;
    this.kind = `${positionBias.kind}+${this.inner.kind}`;
  }

  /** [..., H, Lq, dq] x [..., H, Lk, dk] -> [..., H, Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    const scores = this.inner.score(query, keys); // [..., H, Lq, Lk]
    const Lq = scores.shape[scores.rank - 2]!;
    const Lk = scores.shape[scores.rank - 1]!;
    const offset = resolveQueryOffset(this.queryPositionOffset, Lq, Lk, `${this.kind}.score`);
    const bias = this.positionBias.bias(Lq, Lk, offset); // [H, Lq, Lk]
    const H = bias.shape[0]!;
    const heads = scores.rank >= 3 ? scores.shape[scores.rank - 3]! : 1;
    if (bias.rank !== 3 || bias.shape[1] !== Lq || bias.shape[2] !== Lk || (H !== 1 && H !== heads)) {
      throw new ShapeError(
        `the ${this.positionBias.kind} bias ${formatShape(bias.shape)} must be [H, Lq, Lk] = [${heads}, ${Lq}, ${Lk}] for scores ${formatShape(scores.shape)} (heads-first query ${formatShape(query.shape)})`,
        {
          op: `${this.kind}.score`,
          argument: 'query',
          shapes: { query: query.shape, keys: keys.shape, bias: bias.shape },
        },
      );
    }
    const placed = biasOn(scores, bias, `${this.kind}.score`); // [H, Lq, Lk]
    return add(scores, scores.rank >= 3 ? placed : placed.reshape([Lq, Lk])); // [..., H, Lq, Lk]
  }
}

/**
 * The bias where the scores live: a constant one built on the host (ALiBi's) is uploaded for scores on a device. One
 * that tracks a gradient, or lives on another device, is left as it is, for `add` to refuse by name. Same shape.
 */
function biasOn(scores: Tensor, bias: Tensor, op: string): Tensor {
  if (bias.storage !== null || scores.storage === null || bias.requiresGrad) return bias;
  return new Tensor(deviceBackend(scores.device, op).upload(bias.data), bias.shape); // [H, Lq, Lk]
}
