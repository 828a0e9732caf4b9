import { defaultRng } from '../default-rng';
import { ConfigError } from '../errors/config-error';
import { describeValue } from '../expect-tensor';
import type { Rng } from '../rng';
import { checkOptionNames } from './check-option-names';

// A module's or optimizer's constructor checks its config with these: each refusal is a ConfigError naming the
// constructor (`op`) and the option, before anything is built.

/**
 * Throws unless `options` is an object (or, when not `required`, left out); `holds` says what it carries. With
 * `known`, an option name outside it is refused too, naming the nearest known one (`checkOptionNames`).
 */
export function checkConfigObject(op: string, options: unknown, required: boolean, holds = '', known?: readonly string[]): void {
  if (options === undefined && !required) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError(`options must be an object${holds ? ` ${holds}` : ''}, got ${describeValue(options)}`, {
      op,
      argument: 'options',
    });
  }
  if (known) checkOptionNames(op, options, known, 'config');
}

/** `value` if it is a positive integer (a size, a count); else a ConfigError. */
export function checkPositiveInteger(op: string, argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw new ConfigError(`${argument} must be a positive integer, got ${typeof value === 'number' ? value : describeValue(value)}`, {
      op,
      argument,
    });
  return value;
}

/** `value`, or `fallback` when left out, if it is true or false; else a ConfigError. */
export function checkBooleanOption(op: string, argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(`${argument} must be true or false, got ${describeValue(value)}`, { op, argument });
  return value;
}

/** `rng`, or the shared default generator when left out, if it is a seeded generator (an `Rng`); else a ConfigError. */
export function resolveRng(op: string, rng: unknown): Rng {
  if (rng === undefined) return defaultRng();
  const r = rng as { uniform?: unknown; normal?: unknown } | null;
  if (typeof r?.uniform === 'function' && typeof r.normal === 'function') return rng as Rng;
  throw new ConfigError(`rng must be a seeded Rng (e.g. new Rng(0)), got ${describeValue(rng)}`, { op, argument: 'rng' });
}

/** A zeroed Float32Array of `rows × columns` weights; a ConfigError naming `argument` when no Float32Array can hold them. */
export function allocateWeights(op: string, argument: string, rows: number, columns: number): Float32Array {
  try {
    return new Float32Array(rows * columns);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new ConfigError(`${rows} × ${columns} = ${rows * columns} weights are more than a Float32Array can hold here`, { op, argument });
  }
}
