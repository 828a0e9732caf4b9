import { ArgumentError, ConfigError, describeValue, type Rng } from '@heed/tensor';
import { AdditiveScorer, type AdditiveScorerOptions } from './additive';
import { ConcatScorer, type ConcatScorerOptions } from './concat';
import { CosineScorer, type CosineScorerOptions } from './cosine';
import { DotScorer } from './dot';
import { GeneralScorer, type GeneralScorerOptions } from './general';
import { ScaledDotScorer, type ScaledDotScorerOptions } from './scaled-dot';
import type { Scorer, ScorerDims } from './scorer';

/**
 * Options of each registered kind. Add your own kind by declaration merging:
 * `declare module '@heed/scorers' { interface ScorerOptionsByKind { rbf: { sigma?: number } } }`.
 */
export interface ScorerOptionsByKind {
  dot: Record<string, never>;
  'scaled-dot': ScaledDotScorerOptions;
  general: GeneralScorerOptions;
  concat: ConcatScorerOptions;
  additive: AdditiveScorerOptions;
  cosine: CosineScorerOptions;
}

/**
 * The scorer class each built-in kind builds, so that `createScorer({ kind: 'additive', … })` is an
 * `AdditiveScorer` (its `W1`, `W2`, `b`, `v` typed) and modules type their scorers by the spec they were given.
 * A kind of your own can say what it builds by declaration merging, next to its options:
 * `declare module '@heed/scorers' { interface ScorerByKind { rbf: RbfScorer } }`. (A built-in kind replaced with
 * `registerScorer(kind, factory, { replace: true })` keeps the type declared here: make the factory build that class.)
 */
export interface ScorerByKind {
  dot: DotScorer;
  'scaled-dot': ScaledDotScorer;
  general: GeneralScorer;
  concat: ConcatScorer;
  additive: AdditiveScorer;
  cosine: CosineScorer;
}

/** The scorer of a registered kind name: its class from `ScorerByKind`, or `Scorer` for any other (or an unknown) kind. */
export type ScorerOfKind<K extends string> = string extends K ? Scorer : K extends keyof ScorerByKind ? ScorerByKind[K] : Scorer;

/**
 * What a scorer option builds: a `Scorer` instance is itself; a spec `{ kind, … }` is its kind's class
 * (`ScorerFor<{ kind: 'additive' }>` and `ScorerFor<'additive'>` are `AdditiveScorer`), or `Scorer` when the kind is not known statically.
 */
export type ScorerFor<S extends Scorer | ScorerSpec | string> = Extract<S, Scorer> | ScorerOfKind<SpecKind<Exclude<S, Scorer>>>;

/** The kind a spec names: a kind string is itself, `{ kind }` its `kind`. */
type SpecKind<S> = S extends string ? S : S extends { kind: infer K extends string } ? K : never;

/** What a factory receives: the kind's options plus the feature sizes and generator of the caller. */
export type ScorerFactoryOptions = ScorerDims & { rng?: Rng } & Record<string, unknown>;

/** Builds a scorer from options; modules call it with `queryDim`/`keyDim` of the head it serves. */
export type ScorerFactory = (options: ScorerFactoryOptions) => Scorer;

/** `{ kind, ...options }` for a known kind, or any registered kind by name. */
export type ScorerSpec =
  | { [K in keyof ScorerOptionsByKind]: { kind: K } & ScorerOptionsByKind[K] & ScorerDims & { rng?: Rng } }[keyof ScorerOptionsByKind]
  | ({ kind: string } & ScorerFactoryOptions);

const builtIn: ReadonlyArray<[string, ScorerFactory]> = [
  ['dot', () => new DotScorer()],
  ['scaled-dot', (o) => new ScaledDotScorer(o as ScaledDotScorerOptions)],
  ['general', (o) => new GeneralScorer(o as GeneralScorerOptions)],
  ['concat', (o) => new ConcatScorer(o as ConcatScorerOptions)],
  ['additive', (o) => new AdditiveScorer(o as AdditiveScorerOptions)],
  ['cosine', (o) => new CosineScorer(o as CosineScorerOptions)],
];

const factories = new Map<string, ScorerFactory>(builtIn);

/**
 * Makes `kind` available to `createScorer` (and so to every module taking a scorer spec).
 * Registering a kind that exists fails unless `{ replace: true }`.
 */
export function registerScorer(kind: string, factory: ScorerFactory, options: { replace?: boolean } = {}): void {
  if (typeof kind !== 'string' || kind.length === 0) {
    throw new ArgumentError(`kind must be a non-empty string, got ${JSON.stringify(kind)}`, { op: 'registerScorer', argument: 'kind' });
  }
  if (typeof factory !== 'function') {
    throw new ArgumentError(`factory for '${kind}' must be a function`, { op: 'registerScorer', argument: 'factory' });
  }
  if (factories.has(kind) && !options.replace) {
    throw new ConfigError(`scorer kind '${kind}' is already registered; pass { replace: true } to replace it`, {
      op: 'registerScorer',
      argument: 'kind',
    });
  }
  factories.set(kind, factory);
}

/** Removes a registered kind (built-ins included); returns whether it was there. */
export function unregisterScorer(kind: string): boolean {
  return factories.delete(kind);
}

/** The registered kinds, in registration order. */
export function listScorers(): string[] {
  return [...factories.keys()];
}

/**
 * Builds a scorer: `createScorer({ kind: 'additive', queryDim: 8, keyDim: 8, hiddenDim: 16 })` is an
 * `AdditiveScorer` (see `ScorerFor`); a kind known only at run time gives a `Scorer`.
 */
export function createScorer<const S extends ScorerSpec>(spec: S): ScorerFor<S> {
  checkScorerSpec(spec);
  const { kind, ...options } = spec as { kind: string } & ScorerFactoryOptions;
  const factory = factories.get(kind);
  if (!factory) {
    throw new ConfigError(`unknown scorer kind '${kind}'; known kinds: ${listScorers().join(', ')}`, {
      op: 'createScorer',
      argument: 'kind',
    });
  }
  const scorer = factory(options);
  if (scorer.kind !== kind) {
    // a factory registered under a new name may reuse a class; the instance must still report its name
    Object.defineProperty(scorer, 'kind', { value: kind });
  }
  return scorer as ScorerFor<S>; // the registry maps each kind to the class ScorerByKind declares
}

/** Refuses a spec that is neither `{ kind, ...options }` nor a kind name (null, undefined, a number) with a ConfigError naming createScorer. */
function checkScorerSpec(spec: unknown): void {
  if (typeof spec === 'string' || (typeof spec === 'object' && spec !== null && !Array.isArray(spec))) return;
  throw new ConfigError(`spec must be { kind, ...options } (kinds: ${listScorers().join(', ')}), got ${describeValue(spec)}`, {
    op: 'createScorer',
    argument: 'spec',
  });
}
