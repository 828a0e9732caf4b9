import { ArgumentError } from './errors/argument-error';
import { formatShape } from './errors/heed-error';
import { ShapeError } from './errors/shape-error';
import { describeValue, expectRng, expectTensor } from './expect-tensor';
import type { Rng } from './rng';
import { assertValidShape, sizeOf } from './shape';
import { Tensor, type NestedArray } from './tensor';

export interface TensorOptions {
  requiresGrad?: boolean;
}

/**
 * Makes a tensor from nested arrays (shape inferred) or from flat values with a shape.
 * Booleans become 1 and 0 (masks). `tensor(3)` is a scalar of shape [].
 */
export function tensor(values: ArrayLike<number> | NestedArray, shape?: readonly number[], options: TensorOptions = {}): Tensor {
  checkOptions('tensor', options);
  let data: Float32Array;
  let inferred: number[];
  if (typeof values === 'number' || typeof values === 'boolean') {
    data = new Float32Array([Number(values)]);
    inferred = [];
  } else if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    const flat = values as unknown as ArrayLike<number> & Iterable<number | bigint>;
    data = Float32Array.from(flat, Number);
    inferred = [flat.length];
  } else if (!Array.isArray(values)) {
    // Not a number, typed array or nested array: null, a string (whose characters would become NaN), an object.
    throw new ArgumentError(`values must be a number, nested arrays of numbers or a typed array, got ${describeValue(values)}`, {
      op: 'tensor',
      argument: 'values',
    });
  } else {
    inferred = inferShape(values as readonly NestedArray[]);
    data = new Float32Array(sizeOf(inferred));
    let k = 0;
    const fill = (v: NestedArray, dim: number): void => {
      if (dim === inferred.length) {
        if (typeof v !== 'number' && typeof v !== 'boolean') throw ragged(inferred);
        data[k++] = Number(v);
        return;
      }
      if (!Array.isArray(v) || v.length !== inferred[dim]) throw ragged(inferred);
      for (const item of v as readonly NestedArray[]) fill(item, dim + 1);
    };
    fill(values as NestedArray, 0);
  }
  if (shape !== undefined) {
    assertValidShape(shape, 'tensor');
    if (sizeOf(shape) !== data.length) {
      throw new ShapeError(`${data.length} values do not fit shape ${formatShape(shape)} (${sizeOf(shape)} elements)`, {
        op: 'tensor',
        argument: 'shape',
        shapes: { values: inferred, shape },
      });
    }
    inferred = [...shape];
  }
  return new Tensor(data, inferred, options.requiresGrad ?? false);
}

/** The most elements `arange` makes (a Float32Array of 2³⁰ floats is 4 GiB). */
const MAX_ELEMENTS = 2 ** 30;

/** Throws an ArgumentError naming `op` unless `options` is an object (or left out). */
function checkOptions(op: string, options: unknown): void {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new ArgumentError(`options must be an object, got ${describeValue(options)}`, { op, argument: 'options' });
  }
}

function inferShape(values: readonly NestedArray[]): number[] {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = (v as readonly NestedArray[])[0] as NestedArray;
    if (v === undefined) break;
  }
  return shape;
}

function ragged(shape: readonly number[]): ShapeError {
  return new ShapeError(`nested arrays are ragged or hold non-numbers (expected shape ${formatShape(shape)})`, {
    op: 'tensor',
    argument: 'values',
    shapes: { expected: shape },
  });
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  assertValidShape(shape, 'full');
  checkOptions('full', options);
  if (typeof value !== 'number')
    throw new ArgumentError(`value must be a number, got ${describeValue(value)}`, { op: 'full', argument: 'value', shapes: { shape } });
  return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape, options.requiresGrad ?? false);
}

/** Zeros of `shape`. */
export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  assertValidShape(shape, 'zeros');
  return full(shape, 0, options);
}

/** Ones of `shape`. */
export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
  assertValidShape(shape, 'ones');
  return full(shape, 1, options);
}

/** Zeros shaped like `t`. */
export function zerosLike(t: Tensor): Tensor {
  return zeros(expectTensor('zerosLike', 't', t).shape);
}

/** Ones shaped like `t`. */
export function onesLike(t: Tensor): Tensor {
  return ones(expectTensor('onesLike', 't', t).shape);
}

/** `[start, start + step, ...)` up to `end` (exclusive), 1-D. `arange(5)` is 0..4. */
export function arange(start: number, end?: number, step = 1): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  for (const [argument, value] of [
    ['start', start],
    ['end', end],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ArgumentError(`${argument} must be a finite number, got ${describeValue(value)}`, { op: 'arange', argument });
    }
  }
  if (typeof step !== 'number' || step === 0 || !Number.isFinite(step)) {
    throw new ArgumentError(`step must be a finite non-zero number, got ${describeValue(step)}`, { op: 'arange', argument: 'step' });
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  if (n > MAX_ELEMENTS) {
    throw new ArgumentError(`arange(${start}, ${end}, ${step}) would hold ${n} elements, more than ${MAX_ELEMENTS}`, {
      op: 'arange',
      argument: 'end',
    });
  }
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

/** Standard-normal samples of `shape` from a seeded generator. */
export function randn(shape: readonly number[], rng: Rng, options: TensorOptions = {}): Tensor {
  assertValidShape(shape, 'randn');
  expectRng('randn', 'rng', rng);
  checkOptions('randn', options);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return new Tensor(data, shape, options.requiresGrad ?? false);
}

/** Uniform samples in [low, high) of `shape` from a seeded generator. */
export function rand(shape: readonly number[], rng: Rng, low = 0, high = 1, options: TensorOptions = {}): Tensor {
  assertValidShape(shape, 'rand');
  expectRng('rand', 'rng', rng);
  checkOptions('rand', options);
  for (const [argument, value] of [
    ['low', low],
    ['high', high],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new ArgumentError(`${argument} must be a finite number, got ${describeValue(value)}`, {
        op: 'rand',
        argument,
        shapes: { shape },
      });
  }
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return new Tensor(data, shape, options.requiresGrad ?? false);
}
