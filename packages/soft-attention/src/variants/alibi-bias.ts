import { ArgumentError, ConfigError, Tensor } from '@heed/tensor';
import type { Scorer, ScorerSpec } from '@heed/scorers';
import { alibiSlopes } from './alibi-slopes';
import { BiasedScorer, type BiasedScorerOptions, type FusedBias, type ScoreBias } from './biased-scorer';

/**
 * ALiBi, attention with linear biases (Press, Smith & Lewis 2022): bias[h, i, j] = m_h · (j − i),
 * added after the scorer's scale; no position embedding on q or k. -> [H, Lq, Lk], constant (no parameters).
 */
export class AlibiBias implements ScoreBias {
  readonly kind = 'alibi';
  /** m_h per head. */
  readonly slopes: readonly number[];

  /** `numHeads` (slopes by the reference rule) or the slopes themselves. */
  constructor(heads: number | readonly number[]) {
    if (typeof heads === 'number') {
      if (!Number.isInteger(heads) || heads < 1)
        throw new ConfigError(`numHeads must be a positive integer, got ${heads}`, { op: 'AlibiBias', argument: 'heads' });
      this.slopes = alibiSlopes(heads);
    } else {
      if (!Array.isArray(heads) || heads.length === 0 || !heads.every(Number.isFinite))
        throw new ConfigError('slopes must be a non-empty list of finite numbers', { op: 'AlibiBias', argument: 'heads' });
      this.slopes = [...heads];
    }
  }

  /** -> [H, Lq, Lk]: m_h · (j − (i + queryOffset)) */
  bias(queryLength: number, keyLength: number, queryOffset = 0): Tensor {
    const op = 'AlibiBias.bias';
    for (const [argument, n] of [
      ['queryLength', queryLength],
      ['keyLength', keyLength],
    ] as const) {
      if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`${argument} must be a non-negative integer, got ${n}`, { op, argument });
    }
    if (!Number.isInteger(queryOffset))
      throw new ArgumentError(`queryOffset must be an integer, got ${queryOffset}`, { op, argument: 'queryOffset' });
    const H = this.slopes.length;
    const data = new Float32Array(H * queryLength * keyLength);
    for (let h = 0; h < H; h++)
      for (let i = 0; i < queryLength; i++)
        for (let j = 0; j < keyLength; j++) data[(h * queryLength + i) * keyLength + j] = this.slopes[h]! * (j - (i + queryOffset));
    return new Tensor(data, [H, queryLength, keyLength]);
  }

  /** The fused kernels add m_h · (j − i − queryOffset) themselves: the slopes. */
  fusedBias(): FusedBias {
    return { kind: 'alibi', slopes: this.slopes };
  }
}

/** ALiBi in front of any scorer: `new BiasedScorer(new AlibiBias(numHeads), { inner })`. */
export function alibiScorer(numHeads: number, inner?: Scorer | ScorerSpec, options: Omit<BiasedScorerOptions, 'inner'> = {}): BiasedScorer {
  return new BiasedScorer(new AlibiBias(numHeads), { ...options, inner });
}
