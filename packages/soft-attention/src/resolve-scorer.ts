import { ArgumentError, ConfigError, isHeedError, type Rng } from '@heed/tensor';
import { createScorer, isScorer, type Scorer, type ScorerSpec } from '@heed/scorers';

/** A scorer as the calls take it: an instance, a spec `{ kind, ...options }`, or a kind name ('dot'). */
export type ScorerLike = Scorer | ScorerSpec | string;

/** What a call that builds the scorer itself knows: its name (for errors), the head's feature sizes and its generator. */
export interface ResolveScorerOptions {
  /** The public call named in errors (default 'attend'). */
  op?: string;
  queryDim?: number;
  keyDim?: number;
  rng?: Rng;
}

/**
 * The scorer as given (anything carrying the scorer brand, or with `kind` and `score`), or built from a
 * spec or a kind name with the call's feature sizes and generator; undefined gives scaled-dot.
 * An unknown kind or a value that is no scorer is refused with a ConfigError naming the call.
 */
export function resolveScorer(scorer: ScorerLike | undefined, options: ResolveScorerOptions = {}): Scorer {
  const op = options.op ?? 'attend';
  if (isScorer(scorer)) return scorer;
  const spec: ScorerSpec | null =
    scorer === undefined
      ? { kind: 'scaled-dot' }
      : typeof scorer === 'string'
        ? { kind: scorer }
        : typeof scorer === 'object' && scorer !== null && typeof (scorer as { kind?: unknown }).kind === 'string'
          ? scorer
          : null;
  if (spec === null) {
    throw new ArgumentError(
      `scorer must be a Scorer, a spec { kind, ...options } or a kind name, got ${typeof scorer === 'object' ? JSON.stringify(scorer) : String(scorer)}`,
      { op, argument: 'scorer' },
    );
  }
  const dims = {
    ...(options.queryDim === undefined ? {} : { queryDim: options.queryDim }),
    ...(options.keyDim === undefined ? {} : { keyDim: options.keyDim }),
  };
  try {
    return createScorer({ ...dims, ...(options.rng ? { rng: options.rng } : {}), ...spec, ...dims } as ScorerSpec);
  } catch (error) {
    if (isHeedError(error) && error.op === 'createScorer') {
      throw new ConfigError(`scorer: ${error.message.replace(/^createScorer: /, '')}`, { op, argument: 'scorer' });
    }
    throw error;
  }
}
