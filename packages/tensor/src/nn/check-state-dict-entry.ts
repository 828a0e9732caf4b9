import { formatShape } from '../errors/heed-error';
import { StateDictError } from '../errors/state-dict-error';
import { sameShape, sizeOf } from '../shape';

/** A state-dict value: a Tensor, or a `{ shape, data }` record (e.g. parsed from JSON). */
export interface StateDictValue {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface StateDictValueOptions {
  /** Accept NaN and ±Infinity weights (default false: a non-finite weight is refused, naming its key and index). */
  allowNonFinite?: boolean;
}

/**
 * Checks one state-dict entry before anything is written: a `{ shape, data }` record (not null, not a
 * string), of the expected shape, holding numbers that are finite unless `allowNonFinite`.
 * Returns the entry typed; throws a StateDictError naming `op` and the key otherwise.
 */
export function checkStateDictEntry(
  op: string,
  key: string,
  value: unknown,
  expected: readonly number[],
  options: StateDictValueOptions = {},
): StateDictValue {
  const fail = (message: string, shapes?: Record<string, readonly number[]>): never => {
    throw new StateDictError(`key '${key}' ${message}`, { op, argument: key, keys: [key], ...(shapes ? { shapes } : {}) });
  };
  if (typeof value !== 'object' || value === null)
    return fail(`is ${describe(value)}, expected a Tensor or { shape, data } of shape ${formatShape(expected)}`);
  const { shape, data } = value as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) {
    return fail(`has no valid shape (got ${describe(shape)}), expected a Tensor or { shape, data } of shape ${formatShape(expected)}`);
  }
  if (typeof data !== 'object' || data === null || typeof (data as ArrayLike<unknown>).length !== 'number') {
    return fail(`has no data array (got ${describe(data)}), expected ${sizeOf(expected)} numbers`);
  }
  const values = data as ArrayLike<unknown>;
  if (!sameShape(shape, expected) || values.length !== sizeOf(expected)) {
    return fail(
      `has shape ${formatShape(shape)}${values.length !== sizeOf(shape) ? ` with ${values.length} values` : ''}, the module expects ${formatShape(expected)}`,
      { expected, got: shape },
    );
  }
  const typed = values instanceof Float32Array || values instanceof Float64Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!typed && typeof v !== 'number') return fail(`holds ${describe(v)} at index ${i}, expected numbers`);
    if (!options.allowNonFinite && !Number.isFinite(v))
      return fail(`holds ${String(v)} at index ${i}; pass { allowNonFinite: true } to load non-finite weights anyway`);
  }
  return { shape, data: values as ArrayLike<number> };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)}`;
  if (typeof value === 'object') return Object.keys(value).length === 0 ? '{}' : 'an object';
  return String(value);
}
