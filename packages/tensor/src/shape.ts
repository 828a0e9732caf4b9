import { ArgumentError } from './errors/argument-error';
import { formatShape } from './errors/heed-error';
import { ShapeError } from './errors/shape-error';

/** Number of elements of a shape (1 for a scalar `[]`). */
export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i]!;
  }
  return strides;
}

/** Throws unless every dimension is a non-negative integer. */
export function assertValidShape(shape: readonly number[], op: string, argument = 'shape'): void {
  if (!Array.isArray(shape)) {
    throw new ArgumentError(`${argument} must be an array of non-negative integers, got ${shape === null ? 'null' : typeof shape}`, {
      op,
      argument,
    });
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ArgumentError(`${argument} ${formatShape(shape)} has a dimension that is not a non-negative integer (${d})`, {
        op,
        argument,
        shapes: { [argument]: shape },
      });
    }
  }
}

/** Resolves a possibly negative axis against a rank; throws when out of range. */
export function normalizeAxis(axis: number, rank: number, op: string, shape: readonly number[], argument = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new ArgumentError(`${argument} ${axis} is out of range for a tensor of rank ${rank} ${formatShape(shape)}`, {
      op,
      argument,
      shapes: { input: shape },
    });
  }
  return axis < 0 ? axis + rank : axis;
}

/** Resolves a list of axes (undefined = all), sorted, without duplicates. */
export function normalizeAxes(axes: number | readonly number[] | undefined, rank: number, op: string, shape: readonly number[]): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = new Set<number>();
  for (const a of list) out.add(normalizeAxis(a, rank, op, shape, 'axes'));
  return [...out].sort((x, y) => x - y);
}

/** NumPy broadcasting of two shapes; throws a ShapeError naming both when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[], op: string, names: [string, string] = ['a', 'b']): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `cannot broadcast ${names[0]} ${formatShape(a)} with ${names[1]} ${formatShape(b)} (dimension ${i - rank}: ${da} vs ${db})`,
        {
          op,
          argument: names[1],
          shapes: { [names[0]]: a, [names[1]]: b },
        },
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` seen through a broadcast to `target` (0 where a dimension is broadcast). */
export function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const strides = stridesOf(shape);
  const out = new Array<number>(target.length).fill(0);
  const offset = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[i + offset] = shape[i] === 1 ? 0 : strides[i]!;
  return out;
}

/** True when two shapes are identical. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
