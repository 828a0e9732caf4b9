export type { Scorer, ScorerDims, FusedScore } from './scorer';
export { scorerBrand, isScorer } from './scorer';
export { DotScorer } from './dot';
export { ScaledDotScorer } from './scaled-dot';
export type { ScaledDotScorerOptions } from './scaled-dot';
export { GeneralScorer } from './general';
export type { GeneralScorerOptions } from './general';
export { ConcatScorer } from './concat';
export type { ConcatScorerOptions } from './concat';
export { AdditiveScorer } from './additive';
export type { AdditiveScorerOptions } from './additive';
export { CosineScorer } from './cosine';
export type { CosineScorerOptions } from './cosine';
export { registerScorer, unregisterScorer, listScorers, createScorer } from './registry';
export type {
  ScorerByKind,
  ScorerFactory,
  ScorerFactoryOptions,
  ScorerFor,
  ScorerOfKind,
  ScorerSpec,
  ScorerOptionsByKind,
} from './registry';
export { checkScorerInputs } from './check-scorer-inputs';
