// Test-only (exported from @heed/tensor/testing): asserts a call throws a heed error naming the call.
import type { HeedError, HeedErrorFields } from '../errors/heed-error';
import { expectThrows } from './expect-throws';

/**
 * Runs `fn`, expects an instance of `errorClass` (a HeedError subclass) whose `op` and `argument` are
 * the given ones, and whose `shapes` equal `fields.shapes` when given; returns the error.
 */
export function expectHeedError<E extends HeedError>(
  fn: () => unknown,
  errorClass: abstract new (...args: never[]) => E,
  fields: HeedErrorFields,
): E {
  const error = expectThrows(fn, errorClass);
  const mismatch = (name: string, actual: unknown, expected: unknown) =>
    new Error(`expected ${errorClass.name} with ${name} ${expected}, got ${actual} (${error.message})`);
  if (error.op !== fields.op) throw mismatch('op', JSON.stringify(error.op), JSON.stringify(fields.op));
  if (error.argument !== fields.argument) throw mismatch('argument', JSON.stringify(error.argument), JSON.stringify(fields.argument));
  if (fields.shapes !== undefined && JSON.stringify(sortedEntries(error.shapes)) !== JSON.stringify(sortedEntries(fields.shapes))) {
    throw mismatch('shapes', JSON.stringify(error.shapes), JSON.stringify(fields.shapes));
  }
  return error;
}

function sortedEntries(shapes: Readonly<Record<string, readonly number[]>>): [string, readonly number[]][] {
  return Object.entries(shapes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
