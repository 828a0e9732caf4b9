import { checkConfigObject, checkPositiveInteger, ConfigError } from '@heed/tensor';

/** Throws a ConfigError unless `value` is a positive integer; returns it. */
export function checkDim(op: string, argument: string, value: number | undefined): number {
  return checkPositiveInteger(op, argument, value);
}

/** Throws a ConfigError unless `value` is a finite number > 0; returns it. */
export function checkPositive(op: string, argument: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${argument} must be a finite number > 0, got ${value}`, { op, argument });
  }
  return value;
}

/** Throws a ConfigError naming `op` unless `options` is an object (or, when not `required`, left out). */
export function checkOptions(op: string, options: unknown, required: boolean): void {
  checkConfigObject(op, options, required, required ? 'with the feature sizes (queryDim, ...)' : '');
}
