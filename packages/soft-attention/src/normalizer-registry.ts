import { ArgumentError, ConfigError } from '@heed/tensor';
import { Entmax15 } from './entmax15-normalizer';
import { isNormalizer, type Normalizer } from './normalizer';
import { Softmax } from './softmax';
import { Sparsemax } from './sparsemax-normalizer';
import { AlphaEntmax, type AlphaEntmaxOptions } from './variants/alpha-entmax-normalizer';
import { GumbelSoftmax, type GumbelSoftmaxNormalizerOptions } from './variants/gumbel-softmax-normalizer';

/** Builds a normalizer from options (e.g. `{ temperature: 0.5 }`). */
export type NormalizerFactory = (options: { temperature?: number } & Record<string, unknown>) => Normalizer;

/** `{ kind, ...options }`, e.g. `{ kind: 'sparsemax' }` or `{ kind: 'softmax', temperature: 2 }`. */
export type NormalizerSpec = { kind: string; temperature?: number } & Record<string, unknown>;

const factories = new Map<string, NormalizerFactory>([
  ['softmax', (o) => new Softmax(o)],
  ['sparsemax', (o) => new Sparsemax(o)],
  ['entmax15', (o) => new Entmax15(o)],
  ['alpha-entmax', (o) => new AlphaEntmax({ alpha: 1.5, ...o } as AlphaEntmaxOptions)], // { kind: 'alpha-entmax', alpha = 1.5 }
  ['gumbel-softmax', (o) => new GumbelSoftmax(o as GumbelSoftmaxNormalizerOptions)], // { kind: 'gumbel-softmax', temperature?, rng? }
]);

/** Makes `kind` available to `createNormalizer`; an existing kind needs `{ replace: true }`. */
export function registerNormalizer(kind: string, factory: NormalizerFactory, options: { replace?: boolean } = {}): void {
  if (typeof kind !== 'string' || kind.length === 0) {
    throw new ArgumentError(`kind must be a non-empty string, got ${JSON.stringify(kind)}`, { op: 'registerNormalizer', argument: 'kind' });
  }
  if (factories.has(kind) && !options.replace) {
    throw new ConfigError(`normalizer kind '${kind}' is already registered; pass { replace: true } to replace it`, {
      op: 'registerNormalizer',
      argument: 'kind',
    });
  }
  factories.set(kind, factory);
}

/** The registered normalizer kinds. */
export function listNormalizers(): string[] {
  return [...factories.keys()];
}

/** Builds a normalizer from a spec; an unknown kind fails with the list of known kinds. */
export function createNormalizer(spec: NormalizerSpec): Normalizer {
  const { kind, ...options } = spec;
  const factory = factories.get(kind);
  if (!factory) {
    throw new ConfigError(`unknown normalizer kind '${kind}'; known kinds: ${listNormalizers().join(', ')}`, {
      op: 'createNormalizer',
      argument: 'kind',
    });
  }
  return factory(options);
}

/** A normalizer as the calls take it: an instance, a spec `{ kind, ...options }`, or a kind name ('sparsemax'). */
export type NormalizerLike = Normalizer | NormalizerSpec | string;

/**
 * A normalizer as given (anything carrying the normalizer brand, or with `kind` and `normalize`), or
 * built from a spec or a kind name; undefined gives softmax. Errors name `op`, the call taking it.
 */
export function resolveNormalizer(normalizer: NormalizerLike | undefined, op = 'resolveNormalizer'): Normalizer {
  if (normalizer === undefined) return new Softmax();
  if (isNormalizer(normalizer)) return normalizer;
  const spec = typeof normalizer === 'string' ? { kind: normalizer } : normalizer;
  if (typeof spec !== 'object' || spec === null || typeof spec.kind !== 'string') {
    throw new ArgumentError(
      `normalizer must be a Normalizer, a spec { kind, ...options } or a kind name, got ${typeof spec === 'object' ? JSON.stringify(spec) : String(spec)}`,
      { op, argument: 'normalizer' },
    );
  }
  if (!factories.has(spec.kind)) {
    throw new ConfigError(`unknown normalizer kind '${spec.kind}'; known kinds: ${listNormalizers().join(', ')}`, {
      op,
      argument: 'normalizer',
    });
  }
  return createNormalizer(spec);
}
