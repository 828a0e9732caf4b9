import { ArgumentError } from './errors/argument-error';
import { formatShape } from './errors/heed-error';
import { ShapeError } from './errors/shape-error';
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
  let data: Float32Array;
  let inferred: number[];
  if (typeof values === 'number' || typeof values === 'boolean') {
    data = new Float32Array([Number(values)]);
    inferred = [];
  } else if (ArrayBuffer.isView(values) || (!Array.isArray(values) && typeof (values as ArrayLike<number>).length === 'number')) {
    const flat = values as ArrayLike<number>;
    data = Float32Array.from(flat);
    inferred = [flat.length];
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
  return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape, options.requiresGrad ?? false);
}

/** Zeros of `shape`. */
export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return full(shape, 0, options);
}

/** Ones of `shape`. */
export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return full(shape, 1, options);
}

/** Zeros shaped like `t`. */
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape);
}

/** Ones shaped like `t`. */
export function onesLike(t: Tensor): Tensor {
  return ones(t.shape);
}

/** `[start, start + step, ...)` up to `end` (exclusive), 1-D. `arange(5)` is 0..4. */
export function arange(start: number, end?: number, step = 1): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step)) {
    throw new ArgumentError(`step must be a finite non-zero number, got ${step}`, { op: 'arange', argument: 'step' });
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

/** Standard-normal samples of `shape` from a seeded generator. */
export function randn(shape: readonly number[], rng: Rng, options: TensorOptions = {}): Tensor {
  assertValidShape(shape, 'randn');
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return new Tensor(data, shape, options.requiresGrad ?? false);
}

/** Uniform samples in [low, high) of `shape` from a seeded generator. */
export function rand(shape: readonly number[], rng: Rng, low = 0, high = 1, options: TensorOptions = {}): Tensor {
  assertValidShape(shape, 'rand');
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return new Tensor(data, shape, options.requiresGrad ?? false);
}
