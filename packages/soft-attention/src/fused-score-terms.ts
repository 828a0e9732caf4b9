import type { Tensor } from '@heed/tensor';
import type { Scorer } from '@heed/scorers';
import { BiasedScorer } from './variants/biased-scorer';
import { resolveQueryOffset } from './variants/query-offset';
import type { RotaryStyle } from './variants/rotary-embedding';
import { RotaryScorer } from './variants/rotary-scorer';
import { SoftcapScorer } from './variants/softcap-scorer';

// Shape letters: H query heads, Lq queries, Lk keys.

/** The score terms of a scorer chain that the fused kernels run (see `AttentionProblem` in @heed/tensor). */
export interface FusedScoreTerms {
  /** The scorer at the bottom of the chain, whose `fusedScore` gives the multiplier of q·k. */
  base: Scorer;
  /** RoPE: q and k are rotated by their positions (O(L·d)) before the kernel; query row r at r + queryOffset. */
  rotary: { base: number; style: RotaryStyle; queryOffset: number } | null;
  /** ALiBi: m_h · (j − i − queryOffset). */
  alibi: { slopes: readonly number[]; queryOffset: number } | null;
  /** A bias by offset j − i, [H, Lq + Lk − 1] (differentiable: T5's table reaches it through `embedding`). */
  relativeBias: Tensor | null;
  /** cap · tanh(x / cap) after the scale and the biases. */
  softcap: number | null;
}

/**
 * Unwraps a scorer chain into the terms the fused kernels compute, in their order: RoPE on q and k, then
 * scale · q·k, biases (`BiasedScorer` whose bias declares `fusedBias`: ALiBi, T5), then the cap
 * (`SoftcapScorer`). A chain the kernels cannot run in that order — a cap inside a bias, two caps, two
 * biases of one kind, two rotations, a bias without `fusedBias` — returns why (the plain path runs it).
 * The bottom scorer's `fusedScore` is checked by the caller.
 */
export function fusedScoreTerms(scorer: Scorer, queryLength: number, keyLength: number): FusedScoreTerms | string {
  const terms: FusedScoreTerms = { base: scorer, rotary: null, alibi: null, relativeBias: null, softcap: null };
  let part: Scorer = scorer;
  for (;;) {
    if (part instanceof RotaryScorer) {
      if (terms.rotary) return 'RoPE is applied twice in the scorer chain';
      const queryOffset = resolveQueryOffset(part.queryPositionOffset, queryLength, keyLength, `${part.kind}.score`);
      terms.rotary = { base: part.base, style: part.style, queryOffset };
      part = part.inner;
    } else if (part instanceof SoftcapScorer) {
      if (terms.softcap !== null) return 'two soft-caps in the scorer chain';
      if (terms.alibi || terms.relativeBias)
        return 'a bias is added after the soft-cap (the kernels cap after the biases: put SoftcapScorer outside BiasedScorer)';
      terms.softcap = part.cap;
      part = part.inner;
    } else if (part instanceof BiasedScorer) {
      const bias = part.positionBias;
      const queryOffset = resolveQueryOffset(part.queryPositionOffset, queryLength, keyLength, `${part.kind}.score`);
      const fused = typeof bias.fusedBias === 'function' ? bias.fusedBias(queryLength, keyLength, queryOffset) : null;
      if (fused === null) return `the score bias '${bias.kind}' does not declare a fused bias (fusedBias)`;
      if (fused.kind === 'alibi') {
        if (terms.alibi) return 'two ALiBi biases in the scorer chain';
        terms.alibi = { slopes: fused.slopes, queryOffset };
      } else {
        if (terms.relativeBias) return 'two relative position biases in the scorer chain';
        terms.relativeBias = fused.table; // [H, Lq + Lk − 1]
      }
      part = part.inner;
    } else {
      terms.base = part;
      return terms;
    }
  }
}

/** Whether the chain adds anything to scale · q·k that a softmax temperature would have to divide too. */
export function hasScoreTerms(terms: FusedScoreTerms): boolean {
  return terms.alibi !== null || terms.relativeBias !== null || terms.softcap !== null;
}
