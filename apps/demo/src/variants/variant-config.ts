import { Rng } from '@heed/tensor';
import type { Scorer, ScorerSpec } from '@heed/scorers';
import {
  AlibiBias,
  AlphaEntmax,
  BiasedScorer,
  Entmax15,
  type KeepRule,
  LocalWindowRule,
  type Normalizer,
  RelativePositionBias,
  RotaryScorer,
  SlidingWindowRule,
  Softmax,
  SoftmaxWithSinks,
  SoftcapScorer,
  Sparsemax,
} from '@heed/soft-attention';

// The variants panel's choices and the heed parts they stand for. H heads.

export const POSITIONS = ['none', 'rope', 'alibi', 'relative'] as const;
export const WINDOWS = ['none', 'causal', 'sliding', 'local'] as const;
export const NORMALIZERS = ['softmax', 'sinks', 'sparsemax', 'entmax15', 'alpha-entmax', 'linear'] as const;

export type PositionScheme = (typeof POSITIONS)[number];
export type WindowKind = (typeof WINDOWS)[number];
export type NormalizerChoice = (typeof NORMALIZERS)[number];

export interface VariantConfig {
  position: PositionScheme;
  window: WindowKind;
  /** W: the sliding window's length (keys i − W < j ≤ i), or the local window's reach each side (|i − j| ≤ W). */
  windowSize: number;
  /** The soft-cap c (scores become c · tanh(s / c)), or null for none. */
  softcap: number | null;
  normalizer: NormalizerChoice;
  /** α of α-entmax (> 1). */
  alpha: number;
  /** The sink logit s_h of every head (softmax with sinks). */
  sink: number;
}

export const DEFAULT_VARIANT: VariantConfig = {
  position: 'none',
  window: 'causal',
  windowSize: 3,
  softcap: null,
  normalizer: 'softmax',
  alpha: 1.25,
  sink: 1,
};

export const POSITION_LABELS: Record<PositionScheme, string> = {
  none: 'none (content only)',
  rope: 'RoPE (rotary)',
  alibi: 'ALiBi (linear bias)',
  relative: 'relative bias (T5 buckets)',
};
export const WINDOW_LABELS: Record<WindowKind, string> = {
  none: 'none (every key)',
  causal: 'causal',
  sliding: 'causal sliding window',
  local: 'local window (both sides)',
};
export const NORMALIZER_LABELS: Record<NormalizerChoice, string> = {
  softmax: 'softmax',
  sinks: 'softmax with sinks',
  sparsemax: 'sparsemax',
  entmax15: 'entmax 1.5',
  'alpha-entmax': 'α-entmax',
  linear: 'linear attention (elu + 1)',
};

/** The seed of the relative bias table (T5's table is learned; here it is N(0, 1) from this seed). */
export const RELATIVE_BIAS_SEED = 7;

/** The attend() parts of a configuration (not linear attention, which has no scorer or normalizer). */
export interface VariantParts {
  scorer: Scorer | ScorerSpec;
  normalizer: Normalizer;
  causal: boolean;
  keepRule: KeepRule | undefined;
}

/** Choices -> heed parts, for H heads. */
export function variantParts(config: VariantConfig, numHeads: number): VariantParts {
  const scaledDot: ScorerSpec = { kind: 'scaled-dot' };
  const positioned: Scorer | ScorerSpec =
    config.position === 'rope'
      ? new RotaryScorer({ inner: scaledDot })
      : config.position === 'alibi'
        ? new BiasedScorer(new AlibiBias(numHeads), { inner: scaledDot })
        : config.position === 'relative'
          ? new BiasedScorer(new RelativePositionBias({ numHeads, rng: new Rng(RELATIVE_BIAS_SEED) }), { inner: scaledDot })
          : scaledDot;
  const scorer = config.softcap === null ? positioned : new SoftcapScorer(config.softcap, { inner: positioned });
  let normalizer: Normalizer;
  if (config.normalizer === 'sinks') {
    const sinks = new SoftmaxWithSinks({ numHeads });
    sinks.sinks.data.fill(config.sink);
    normalizer = sinks;
  } else if (config.normalizer === 'sparsemax') normalizer = new Sparsemax();
  else if (config.normalizer === 'entmax15') normalizer = new Entmax15();
  else if (config.normalizer === 'alpha-entmax') normalizer = new AlphaEntmax({ alpha: config.alpha });
  else normalizer = new Softmax();
  const keepRule =
    config.window === 'sliding'
      ? new SlidingWindowRule(config.windowSize)
      : config.window === 'local'
        ? new LocalWindowRule(config.windowSize)
        : undefined;
  return { scorer, normalizer, causal: config.window === 'causal', keepRule };
}

/** The rule of a configuration, written out: score, keep, normalize, one line each. */
export function variantRule(config: VariantConfig): string[] {
  if (config.normalizer === 'linear') {
    return [
      'φ(x) = elu(x) + 1, applied to every query and key (no scorer, no position scheme, no soft-cap)',
      `w_ij = φ(q_i)·φ(k_j) / Σ_j' φ(q_i)·φ(k_j')${config.window === 'causal' ? ', over j, j′ ≤ i (causal)' : ''}`,
      'out_i = Σ_j w_ij v_j, computed as φ(q_i)ᵀ (Σ_j φ(k_j) v_jᵀ) / φ(q_i)ᵀ Σ_j φ(k_j): linear in L, never the L×L matrix',
    ];
  }
  const base =
    config.position === 'rope'
      ? 'R(i) q_i · R(j) k_j / √d   (R(p) turns feature pair m by p · 10000^(−2m/d))'
      : config.position === 'alibi'
        ? 'q_i · k_j / √d + m_h · (j − i)   (m_h = 2^(−8(h+1)/H): 1/16, 1/256)'
        : config.position === 'relative'
          ? 'q_i · k_j / √d + b_h[bucket(j − i)]   (a table of 32 buckets per head, seeded)'
          : 'q_i · k_j / √d';
  const score = config.softcap === null ? `s_ij = ${base}` : `s_ij = c · tanh(t / c), c = ${config.softcap}, with t = ${base}`;
  const keep =
    config.window === 'causal'
      ? 'keep j ≤ i (causal)'
      : config.window === 'sliding'
        ? `keep i − ${config.windowSize} < j ≤ i (the ${config.windowSize} keys ending at i)`
        : config.window === 'local'
          ? `keep |i − j| ≤ ${config.windowSize} (${config.windowSize} keys each side)`
          : 'keep every j';
  const normalize =
    config.normalizer === 'sinks'
      ? `w_ij = exp(s_ij) / (exp(${config.sink}) + Σ_j' exp(s_ij'))   (the sink takes the rest: rows sum to less than 1)`
      : config.normalizer === 'sparsemax'
        ? 'w_i = sparsemax(s_i) = the closest point of the simplex to s_i: exact zeros'
        : config.normalizer === 'entmax15'
          ? 'w_ij = [s_ij / 2 − τ_i]₊²   (entmax 1.5, τ_i makes the row sum to 1: zeros, softer than sparsemax)'
          : config.normalizer === 'alpha-entmax'
            ? `w_ij = [(α − 1) s_ij − τ_i]₊^(1/(α − 1)), α = ${config.alpha}   (α → 1 is softmax, 2 is sparsemax)`
            : "w_ij = exp(s_ij) / Σ_j' exp(s_ij')";
  return [score, keep, normalize];
}

/** Why a configuration cannot run, in words, or null. */
export function variantProblem(config: VariantConfig): string | null {
  if (config.window === 'sliding' && !(Number.isInteger(config.windowSize) && config.windowSize >= 1))
    return 'The sliding window W must be a whole number of keys, 1 or more.';
  if (config.window === 'local' && !(Number.isInteger(config.windowSize) && config.windowSize >= 0))
    return 'The local window W must be a whole number of keys each side, 0 or more.';
  if (config.softcap !== null && !(Number.isFinite(config.softcap) && config.softcap > 0))
    return 'The soft-cap c must be a number above 0.';
  if (config.normalizer === 'alpha-entmax' && !(Number.isFinite(config.alpha) && config.alpha > 1 && config.alpha <= 10))
    return 'α must be a number above 1 (and at most 10): α = 1 would be softmax, 2 is sparsemax.';
  if (config.normalizer === 'sinks' && !Number.isFinite(config.sink)) return 'The sink logit must be a number.';
  if (config.normalizer === 'linear' && (config.window === 'sliding' || config.window === 'local'))
    return 'Linear attention runs over every key or causally: pick the window “none” or “causal”.';
  return null;
}
