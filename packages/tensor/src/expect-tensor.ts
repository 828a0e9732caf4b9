import { ArgumentError } from './errors/argument-error';
import { Tensor } from './tensor';

/**
 * `x` if it is a Tensor; otherwise an ArgumentError naming the call (`op`), the argument and what was
 * given — a nested array, null, a string — instead of a TypeError from deep inside. One `instanceof`
 * on the happy path. Every public op checks its tensor arguments with it.
 */
export function expectTensor(op: string, argument: string, x: unknown): Tensor {
  if (x instanceof Tensor) return x;
  throw notATensor(op, argument, x, '');
}

/** As `expectTensor`, also accepting a number (a scalar tensor): the arguments of elementwise ops. */
export function expectTensorLike(op: string, argument: string, x: unknown): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') return new Tensor(new Float32Array([x]), []);
  throw notATensor(op, argument, x, ' or a number');
}

function notATensor(op: string, argument: string, x: unknown, alternatives: string): ArgumentError {
  const hint = Array.isArray(x) || ArrayBuffer.isView(x) ? ': make one with tensor(...)' : '';
  return new ArgumentError(`${argument} must be a Tensor${alternatives}, got ${describeValue(x)}${hint}`, { op, argument });
}

/** A short description of any value for error messages: `null`, `a nested array [2, 3]`, `the string "abc"`. */
export function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) {
    const dims: number[] = [];
    let v: unknown = x;
    while (Array.isArray(v) && dims.length < 8) {
      dims.push(v.length);
      v = v[0];
    }
    return dims.length > 1 ? `a nested array [${dims.join(', ')}]` : `an array of ${x.length}`;
  }
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 24 ? `${x.slice(0, 24)}…` : x)}`;
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint') return `${typeof x} ${String(x)}`;
  if (typeof x === 'function') return 'a function';
  const name = (x as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** `x` if it is an array of numbers (a shape, a list of axes or sizes); otherwise an ArgumentError naming the call and argument. */
export function expectNumbers(op: string, argument: string, x: unknown): readonly number[] {
  if (Array.isArray(x) && x.every((v) => typeof v === 'number')) return x;
  throw new ArgumentError(`${argument} must be an array of numbers, got ${describeValue(x)}`, { op, argument });
}

/** `x` if it is a Tensor or an array-like of numbers (integer indices, class targets); else an ArgumentError. */
export function expectIndices(op: string, argument: string, x: unknown): ArrayLike<number> {
  if (ArrayBuffer.isView(x) || (Array.isArray(x) && x.every((v) => typeof v === 'number'))) return x as ArrayLike<number>;
  throw new ArgumentError(`${argument} must be a Tensor or an array of integers, got ${describeValue(x)}`, { op, argument });
}

/** `rng` if it is a seeded generator (an `Rng`, or anything with its `uniform` and `normal`); else an ArgumentError. */
export function expectRng(op: string, argument: string, rng: unknown): void {
  const r = rng as { uniform?: unknown; normal?: unknown } | null | undefined;
  if (typeof r?.uniform === 'function' && typeof r.normal === 'function') return;
  throw new ArgumentError(`${argument} must be a seeded Rng (e.g. new Rng(0)), got ${describeValue(rng)}`, { op, argument });
}
