import type { DeviceStorage } from './device/device-backend';
import { deviceBackend } from './device/device-registry';
import { ArgumentError } from './errors/argument-error';
import { DeviceError } from './errors/device-error';
import { formatShape } from './errors/heed-error';
import { ShapeError } from './errors/shape-error';
import { describeValue } from './expect-tensor';
import { isGradEnabled, noGrad } from './grad-mode';
import { add, div, mul, sub } from './ops/binary';
import { matmul, type MatmulOptions } from './ops/matmul';
import { permute, transpose } from './ops/permute';
import { mean, sum } from './ops/reduce';
import { reshape } from './ops/reshape';
import { softmax } from './ops/softmax';
import { exp, log, neg, tanh } from './ops/unary';
import { assertValidShape, sameShape, sizeOf, stridesOf } from './shape';

/** Nested arrays of numbers or booleans, e.g. `[[1, 2], [3, 4]]`. */
export type NestedArray = number | boolean | readonly NestedArray[];

/** What `toArray(rank)` returns for each rank: a number for rank 0, `number[]` for rank 1, and so on. */
export interface ArraysByRank {
  0: number;
  1: number[];
  2: number[][];
  3: number[][][];
  4: number[][][][];
  5: number[][][][][];
  6: number[][][][][][];
}

/** Anything an op accepts where a tensor is expected (numbers become scalars). */
export type TensorLike = Tensor | number;

/** How an op's output reaches back to its inputs: one gradient per input (null = no gradient). */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  backward(grad: Tensor): readonly (Tensor | null)[];
}

/**
 * A float32 tensor, row-major and contiguous, on a device: 'cpu' (the values in a Float32Array, `data`, read
 * synchronously) or a registered device backend such as 'webgpu' (the values in the backend's storage, read
 * with `await t.read()`; a synchronous read throws a DeviceError). Gradients flow through every op when
 * `requiresGrad` is set on a leaf, on every device.
 */
export class Tensor {
  readonly shape: readonly number[];
  /** Number of elements: the product of the shape. */
  readonly size: number;
  // Exactly one of the two holds the values: a CPU tensor is a Float32Array and nothing else (no indirection).
  #data: Float32Array | null;
  #storage: DeviceStorage | null;
  /** True when gradients are tracked for this tensor (leaves you made so, or outputs of such). */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after `backward()`, same shape as the tensor. */
  grad: Tensor | null = null;
  /** @internal the op that produced this tensor (null for leaves). */
  node: GradNode | null = null;

  /**
   * A tensor over `data` (shared, not copied), `data.length === size(shape)`. Device storage (from a backend's
   * methods) makes a tensor on that device.
   */
  constructor(data: Float32Array | DeviceStorage, shape: readonly number[], requiresGrad = false) {
    const storage = data instanceof Float32Array ? null : asDeviceStorage(data);
    if (!(data instanceof Float32Array) && storage === null) {
      throw new ArgumentError(
        `data must be a Float32Array, got ${describeValue(data)}${Array.isArray(data) ? ' (use tensor(values) for arrays)' : ''}`,
        {
          op: 'Tensor',
          argument: 'data',
        },
      );
    }
    assertValidShape(shape, 'Tensor');
    const length = storage === null ? (data as Float32Array).length : storage.size;
    if (length !== sizeOf(shape)) {
      throw new ShapeError(`data of length ${length} does not fit shape ${formatShape(shape)} (${sizeOf(shape)} elements)`, {
        op: 'Tensor',
        argument: 'data',
        shapes: { shape },
      });
    }
    this.#data = storage === null ? (data as Float32Array) : null;
    this.#storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = length;
    this.requiresGrad = requiresGrad;
  }

  /** The values, row-major (shared, not copied). CPU tensors only: on another device, a DeviceError says to `await t.read()`. */
  get data(): Float32Array {
    const data = this.#data;
    if (data === null) throw syncReadError(this, 'data');
    return data;
  }

  /** Where the values live: 'cpu', or the name of a registered device backend ('webgpu'). */
  get device(): string {
    return this.#storage === null ? 'cpu' : this.#storage.device;
  }

  /** @internal The backend's storage of a device tensor (null on the CPU). */
  get storage(): DeviceStorage | null {
    return this.#storage;
  }

  /** A copy of the values, row-major, on every device: at once on the CPU; after the queued work on a GPU. */
  read(): Promise<Float32Array> {
    if (this.#storage === null) return Promise.resolve(this.#data!.slice());
    return deviceBackend(this.#storage.device, 'read').read(this.#storage);
  }

  /** @internal Replaces the values in place (same shape): moves a parameter, or its gradient, to another device. */
  replaceValues(data: Float32Array | DeviceStorage): void {
    const storage = data instanceof Float32Array ? null : asDeviceStorage(data);
    const length = storage === null ? (data as Float32Array).length : storage.size;
    if (length !== this.size || (storage === null && !(data instanceof Float32Array))) {
      throw new ShapeError(`new values of length ${length} do not fit shape ${formatShape(this.shape)}`, {
        op: 'replaceValues',
        argument: 'data',
        shapes: { this: this.shape },
      });
    }
    this.#data = storage === null ? (data as Float32Array) : null;
    this.#storage = storage;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** True for tensors no op produced (inputs and parameters). */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.#data === null) throw syncReadError(this, 'item()');
    if (this.#data.length !== 1) {
      throw new ShapeError(`item() needs a one-element tensor, got ${formatShape(this.shape)}`, {
        op: 'item',
        argument: 'this',
        shapes: { this: this.shape },
      });
    }
    return this.#data[0]!;
  }

  /**
   * Nested arrays of numbers (a number for a scalar). Give the rank to get a typed result, checked at the
   * call: `weights.toArray(3)` is a `number[][][]` for a [B, Lq, Lk] tensor and throws a ShapeError for any other rank.
   */
  toArray(): NestedArray;
  toArray<R extends keyof ArraysByRank>(rank: R): ArraysByRank[R];
  toArray(rank?: number): NestedArray {
    if (this.#data === null) throw syncReadError(this, 'toArray()');
    if (rank !== undefined && rank !== this.shape.length) {
      throw new ShapeError(`toArray(${rank}) needs a rank-${rank} tensor, got ${formatShape(this.shape)} (rank ${this.shape.length})`, {
        op: 'toArray',
        argument: 'rank',
        shapes: { this: this.shape },
      });
    }
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return this.data[offset]!;
      const n = this.shape[dim]!;
      let stride = 1;
      for (let i = dim + 1; i < this.shape.length; i++) stride *= this.shape[i]!;
      const out: NestedArray[] = [];
      for (let i = 0; i < n; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** A copy that shares nothing and tracks no gradient. */
  clone(): Tensor {
    if (this.#storage !== null) return new Tensor(copyStorage(this.#storage, this.shape), this.shape);
    return new Tensor(this.#data!.slice(), this.shape);
  }

  /** The same data, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.#storage ?? this.#data!, this.shape);
  }

  /** The values printed (CPU); a device tensor prints its device and shape (its values need `await t.read()`). */
  toString(): string {
    if (this.#storage !== null) {
      return `tensor(<on ${this.#storage.device}: await t.read()>, shape=${formatShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`;
    }
    // One format for the whole tensor: integers stay integers, otherwise 4 decimals (exponent when tiny or huge).
    const allIntegers = this.data.every((x) => Number.isInteger(x));
    const fmt = (x: number): string =>
      allIntegers || !Number.isFinite(x)
        ? String(x)
        : x !== 0 && (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3)
          ? x.toExponential(3)
          : x.toFixed(4);
    const render = (value: NestedArray, indent: number): string => {
      if (!Array.isArray(value)) return fmt(value as number);
      const items = (value as NestedArray[]).map((v) => render(v, indent + 1));
      if (items.length > 0 && Array.isArray((value as NestedArray[])[0])) return `[${items.join(`,\n${' '.repeat(indent + 1)}`)}]`;
      return `[${items.join(', ')}]`;
    };
    const grad = this.requiresGrad ? ', requiresGrad' : '';
    return `tensor(${render(this.toArray(), 7)}, shape=${formatShape(this.shape)}${grad})`;
  }

  /**
   * Reverse-mode autodiff from this tensor. `grad` defaults to 1 for a one-element tensor and is
   * required otherwise. Gradients accumulate into `.grad` of every leaf with `requiresGrad`.
   */
  backward(grad?: Tensor): void {
    if (!this.requiresGrad) {
      throw new ArgumentError('backward() on a tensor that does not require gradients (no input had requiresGrad)', {
        op: 'backward',
        argument: 'this',
        shapes: { this: this.shape },
      });
    }
    let seed: Tensor;
    if (grad === undefined) {
      if (this.size !== 1) {
        throw new ArgumentError(`backward() on a non-scalar ${formatShape(this.shape)} needs an explicit gradient of the same shape`, {
          op: 'backward',
          argument: 'grad',
          shapes: { this: this.shape },
        });
      }
      seed =
        this.#storage === null
          ? new Tensor(new Float32Array([1]), this.shape)
          : new Tensor(deviceBackend(this.device, 'backward').fill(1, 1), this.shape);
    } else {
      if (!(grad instanceof Tensor))
        throw new ArgumentError(`grad must be a Tensor, got ${describeValue(grad)}`, {
          op: 'backward',
          argument: 'grad',
          shapes: { this: this.shape },
        });
      if (!sameShape(grad.shape, this.shape)) {
        throw new ShapeError(`grad ${formatShape(grad.shape)} must have the shape of the tensor ${formatShape(this.shape)}`, {
          op: 'backward',
          argument: 'grad',
          shapes: { this: this.shape, grad: grad.shape },
        });
      }
      if (grad.device !== this.device) {
        throw new DeviceError(
          `grad is on '${grad.device}', the tensor on '${this.device}': move it with await toDevice(grad, '${this.device}')`,
          {
            op: 'backward',
            argument: 'grad',
            shapes: { this: this.shape, grad: grad.shape },
          },
        );
      }
      seed = grad;
    }
    noGrad(() => runBackward(this, seed));
  }

  // Method forms of the common ops (each is the function of the same name).
  add(other: TensorLike): Tensor {
    return add(this, other);
  }
  sub(other: TensorLike): Tensor {
    return sub(this, other);
  }
  mul(other: TensorLike): Tensor {
    return mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return div(this, other);
  }
  neg(): Tensor {
    return neg(this);
  }
  exp(): Tensor {
    return exp(this);
  }
  log(): Tensor {
    return log(this);
  }
  tanh(): Tensor {
    return tanh(this);
  }
  matmul(other: Tensor, options?: MatmulOptions): Tensor {
    return matmul(this, other, options);
  }
  reshape(shape: readonly number[]): Tensor {
    return reshape(this, shape);
  }
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return transpose(this, axis0, axis1);
  }
  permute(axes: readonly number[]): Tensor {
    return permute(this, axes);
  }
  sum(axes?: number | readonly number[], keepDims = false): Tensor {
    return sum(this, axes, keepDims);
  }
  mean(axes?: number | readonly number[], keepDims = false): Tensor {
    return mean(this, axes, keepDims);
  }
  softmax(axis = -1): Tensor {
    return softmax(this, axis);
  }
}

/**
 * Builds an op's output: records `backward` when gradients are on and an input requires them.
 * Ops call this once, after their kernel ran.
 */
export function fromOp(
  data: Float32Array | DeviceStorage,
  shape: readonly number[],
  op: string,
  inputs: readonly Tensor[],
  backward: (grad: Tensor) => readonly (Tensor | null)[],
): Tensor {
  const out = new Tensor(data, shape);
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

function runBackward(root: Tensor, seed: Tensor): void {
  // Topological order by iterative depth-first search (deep graphs must not overflow the stack).
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (visited.has(t)) continue;
    visited.add(t);
    stack.push([t, true]);
    if (t.node) for (const input of t.node.inputs) if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
  }
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    const g = grads.get(t);
    if (!g) continue;
    grads.delete(t);
    if (!t.node) {
      accumulateLeafGrad(t, g);
      continue;
    }
    const inputGrads = t.node.backward(g);
    t.node.inputs.forEach((input, k) => {
      const gi = inputGrads[k];
      if (!gi || !input.requiresGrad) return;
      const previous = grads.get(input);
      grads.set(input, previous ? add(previous, gi) : gi);
    });
  }
}

function accumulateLeafGrad(leaf: Tensor, g: Tensor): void {
  const storage = g.storage;
  if (storage !== null) {
    // On a device: the gradient lives beside the parameter; a new sum each time (the storages stay immutable).
    leaf.grad = leaf.grad === null ? new Tensor(copyStorage(storage, leaf.shape), leaf.shape) : add(leaf.grad, g.reshape(leaf.shape));
    return;
  }
  if (leaf.grad === null) {
    leaf.grad = new Tensor(g.data.slice(), leaf.shape);
    return;
  }
  const acc = leaf.grad.data;
  const src = g.data;
  for (let i = 0; i < acc.length; i++) acc[i]! += src[i]!;
}

/** `x` as device storage when it looks like one (an object with a device name other than 'cpu' and a size), else null. */
function asDeviceStorage(x: unknown): DeviceStorage | null {
  const s = x as DeviceStorage | null;
  if (typeof s !== 'object' || s === null || typeof s.device !== 'string' || s.device === 'cpu' || !Number.isInteger(s.size)) return null;
  return s;
}

/** A contiguous copy of device storage holding a tensor of `shape`. */
function copyStorage(storage: DeviceStorage, shape: readonly number[]): DeviceStorage {
  return deviceBackend(storage.device, 'clone').copy({ storage, offset: 0, strides: stridesOf(shape) }, shape);
}

/** The error of a synchronous read of a tensor that lives on a device. */
function syncReadError(t: Tensor, call: string): DeviceError {
  return new DeviceError(
    `${call} reads values synchronously, but this ${formatShape(t.shape)} tensor lives on '${t.device}': use \`await t.read()\` (a Float32Array) or \`await toCpu(t)\``,
    { op: call, argument: 'this', shapes: { this: t.shape } },
  );
}
