export type { Normalizer, FusedNormalizer } from './normalizer';
export { normalizerBrand, isNormalizer } from './normalizer';
export { Softmax } from './softmax';
export type { SoftmaxOptions } from './softmax';
export { Sparsemax } from './sparsemax-normalizer';
export { Entmax15 } from './entmax15-normalizer';
export { sparsemax } from './sparsemax';
export { entmax15 } from './entmax15';
export { registerNormalizer, listNormalizers, createNormalizer, resolveNormalizer } from './normalizer-registry';
export type { NormalizerFactory, NormalizerSpec, NormalizerLike } from './normalizer-registry';
export { toMask, causalMask, keyPaddingToMask, lengthsToMask, combineMasks, checkMaskShape } from './masks';
export type { MaskLike } from './masks';
export { applyKeep } from './apply-keep';
export { attend, runAttention } from './attend';
export type { AttendOptions, AttendResult } from './attend';
export { resolveScorer } from './resolve-scorer';
export type { ScorerLike, ResolveScorerOptions } from './resolve-scorer';
export { planAttention, keepMaskOf, headsFirstShape } from './plan-attention';
export type {
  AttentionCallOptions,
  AttentionCall,
  AttentionPlan,
  AttendImplementation,
  AttentionLayout,
  KeepPlan,
  KeyBand,
  FusedVariants,
} from './plan-attention';
export { fusedScoreTerms } from './fused-score-terms';
export type { FusedScoreTerms } from './fused-score-terms';
export { SoftAttention } from './soft-attention';
export type { SoftAttentionOptions, SoftAttentionCallOptions } from './soft-attention';
export { applyRotaryEmbedding, rotaryAngles } from './variants/rotary-embedding';
export type { RotaryEmbeddingOptions, RotaryStyle } from './variants/rotary-embedding';
export { RotaryScorer, rotaryScorer } from './variants/rotary-scorer';
export type { RotaryScorerOptions } from './variants/rotary-scorer';
export type { QueryPositionOffset } from './variants/query-offset';
export { BiasedScorer } from './variants/biased-scorer';
export type { ScoreBias, BiasedScorerOptions, FusedBias } from './variants/biased-scorer';
export { alibiSlopes } from './variants/alibi-slopes';
export { AlibiBias, alibiScorer } from './variants/alibi-bias';
export { relativePositionBucket } from './variants/relative-position-bucket';
export type { RelativePositionBucketOptions } from './variants/relative-position-bucket';
export { RelativePositionBias } from './variants/relative-position-bias';
export type { RelativePositionBiasOptions } from './variants/relative-position-bias';
export { KeepRule, AllOfRules, AnyOfRules, keepRule } from './variants/keep-rule';
export type { KeepRuleMaskOptions } from './variants/keep-rule';
export { CausalRule } from './variants/causal-rule';
export { SlidingWindowRule, slidingWindowMask } from './variants/sliding-window';
export { LocalWindowRule, localWindowMask } from './variants/local-window';
export { SegmentRule, segmentMask } from './variants/segment-mask';
export type { SegmentIds } from './variants/segment-mask';
export { softcap } from './variants/softcap';
export { SoftcapScorer } from './variants/softcap-scorer';
export { SoftmaxWithSinks } from './variants/softmax-with-sinks';
export type { SoftmaxWithSinksOptions } from './variants/softmax-with-sinks';
export { eluFeatureMap } from './variants/elu-feature-map';
export { linearAttention, linearAttentionWeights } from './variants/linear-attention';
export type { LinearAttentionOptions } from './variants/linear-attention';
export { causalLinearAttention } from './variants/causal-linear-attention';
export { LinearAttentionState } from './variants/linear-attention-state';
export { alphaEntmax, alphaEntmaxThreshold } from './variants/alpha-entmax';
export { AlphaEntmax } from './variants/alpha-entmax-normalizer';
export type { AlphaEntmaxOptions } from './variants/alpha-entmax-normalizer';
export { straightThroughGumbelSoftmax, gumbelNoise } from './variants/gumbel-softmax';
export type { GumbelSoftmaxOptions } from './variants/gumbel-softmax';
export { GumbelSoftmax } from './variants/gumbel-softmax-normalizer';
export type { GumbelSoftmaxNormalizerOptions } from './variants/gumbel-softmax-normalizer';
export { LuongLocalAttention } from './variants/luong-local-attention';
export type { LuongLocalAttentionOptions, LuongLocalAttentionResult } from './variants/luong-local-attention';
export { ModifiedScorer } from './variants/modified-scorer';
export type { ScoreModifier, ScorePositions } from './variants/modified-scorer';
