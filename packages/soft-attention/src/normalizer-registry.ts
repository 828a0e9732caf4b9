import { ArgumentError, ConfigError } from '@heed/tensor';
import { Entmax15 } from './entmax15-normalizer';
import type { Normalizer } from './normalizer';
import { Softmax } from './softmax';
import { Sparsemax } from './sparsemax-normalizer';

/** Builds a normalizer from options (e.g. `{ temperature: 0.5 }`). */
export type NormalizerFactory = (options: { temperature?: number } & Record<string, unknown>) => Normalizer;

/** `{ kind, ...options }`, e.g. `{ kind: 'sparsemax' }` or `{ kind: 'softmax', temperature: 2 }`. */
export type NormalizerSpec = { kind: string; temperature?: number } & Record<string, unknown>;

const factories = new Map<string, NormalizerFactory>([
  ['softmax', (o) => new Softmax(o)],
  ['sparsemax', (o) => new Sparsemax(o)],
  ['entmax15', (o) => new Entmax15(o)],
]);

/** Makes `kind` available to `createNormalizer`; an existing kind needs `{ replace: true }`. */
export function registerNormalizer(kind: string, factory: NormalizerFactory, options: { replace?: boolean } = {}): void {
  if (typeof kind !== 'string' || kind.length === 0) {
    throw new ArgumentError(`kind must be a non-empty string, got ${JSON.stringify(kind)}`, { op: 'registerNormalizer', argument: 'kind' });
  }
  if (factories.has(kind) && !options.replace) {
    throw new ConfigError(`normalizer kind '${kind}' is already registered; pass { replace: true } to replace it`, { op: 'registerNormalizer', argument: 'kind' });
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
    throw new ConfigError(`unknown normalizer kind '${kind}'; known kinds: ${listNormalizers().join(', ')}`, { op: 'createNormalizer', argument: 'kind' });
  }
  return factory(options);
}

/** A normalizer as given, or built from its spec; undefined gives softmax. */
export function resolveNormalizer(normalizer: Normalizer | NormalizerSpec | undefined): Normalizer {
  if (normalizer === undefined) return new Softmax();
  return typeof (normalizer as Normalizer).normalize === 'function' ? (normalizer as Normalizer) : createNormalizer(normalizer as NormalizerSpec);
}
