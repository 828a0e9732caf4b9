import { ConfigError, formatShape, Module, ShapeError, type Tensor } from '@heed/tensor';
import type { Scorer, ScorerSpec } from '@heed/scorers';
import { resolveScorer } from '../resolve-scorer';
import { resolveQueryOffset, type QueryPositionOffset } from './query-offset';
import { applyRotaryEmbedding, checkRotaryOptions, type RotaryStyle } from './rotary-embedding';

export interface RotaryScorerOptions {
  /** The scorer that compares the rotated q and k (default scaled-dot, 1/√d). */
  inner?: Scorer | ScorerSpec;
  /** Frequency base (default 10000). */
  base?: number;
  /** Feature pairing (default 'rotate-half'). */
  style?: RotaryStyle;
  /** Query row r is at position r + offset; keys at 0..Lk−1 (default 0; 'bottom-right' when decoding). */
  queryPositionOffset?: QueryPositionOffset;
  /** The per-head feature size, if known: checked to be even here rather than at the first call. */
  headDim?: number;
}

/**
 * RoPE as a scorer part: rotates every query and key by its position, then scores with `inner`.
 *   score(q_i, k_j) = inner(R(i + offset) q_i, R(j) k_j)
 * query [..., Lq, d] x keys [..., Lk, d] -> [..., Lq, Lk]; d even. With a dot-product inner scorer the
 * score depends on i − j only. Parameters are those of `inner`.
 */
export class RotaryScorer extends Module implements Scorer {
  readonly kind = 'rotary';
  readonly inner: Scorer;
  readonly base: number;
  readonly style: RotaryStyle;
  readonly queryPositionOffset: QueryPositionOffset;

  constructor(options: RotaryScorerOptions = {}) {
    super();
    ({ base: this.base, style: this.style } = checkRotaryOptions('RotaryScorer', options, ConfigError));
    const offset = options.queryPositionOffset;
    if (offset !== undefined && offset !== 'bottom-right' && !Number.isInteger(offset)) {
      throw new ConfigError(`queryPositionOffset must be an integer or 'bottom-right', got ${JSON.stringify(offset)}`, {
        op: 'RotaryScorer',
        argument: 'queryPositionOffset',
      });
    }
    if (options.headDim !== undefined && (!Number.isInteger(options.headDim) || options.headDim <= 0 || options.headDim % 2 !== 0)) {
      throw new ConfigError(`headDim must be a positive even integer (features rotate in pairs), got ${options.headDim}`, {
        op: 'RotaryScorer',
        argument: 'headDim',
      });
    }
    if (options.inner instanceof RotaryScorer) {
      throw new ConfigError(
        'inner is already a RotaryScorer: rotating q and k twice by their positions is not RoPE (it doubles every angle); use one RotaryScorer',
        { op: 'RotaryScorer', argument: 'inner' },
      );
    }
    this.inner = resolveScorer(options.inner, { op: 'RotaryScorer' });
    this.queryPositionOffset = options.queryPositionOffset ?? 0;
  }

  /** [..., Lq, d] x [..., Lk, d] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    for (const [argument, x] of [
      ['query', query],
      ['keys', keys],
    ] as const) {
      if (x.rank < 2 || x.shape[x.rank - 1]! % 2 !== 0) {
        throw new ShapeError(
          `${argument} ${formatShape(x.shape)} must be [..., L, d] with an even head size d (RoPE turns feature pairs)`,
          { op: 'rotary.score', argument, shapes: { query: query.shape, keys: keys.shape } },
        );
      }
    }
    const Lq = query.shape[query.rank - 2] ?? 0;
    const Lk = keys.shape[keys.rank - 2] ?? 0;
    const offset = resolveQueryOffset(this.queryPositionOffset, Lq, Lk, 'rotary.score');
    const rotatedQuery = applyRotaryEmbedding(query, { base: this.base, style: this.style, positionOffset: offset }); // [..., Lq, d]
    const rotatedKeys = applyRotaryEmbedding(keys, { base: this.base, style: this.style }); // [..., Lk, d]
    return this.inner.score(rotatedQuery, rotatedKeys); // [..., Lq, Lk]
  }
}

/** `new RotaryScorer({ inner, ...options })`: RoPE in front of any scorer. */
export function rotaryScorer(inner?: Scorer | ScorerSpec, options: Omit<RotaryScorerOptions, 'inner'> = {}): RotaryScorer {
  return new RotaryScorer({ ...options, inner });
}
