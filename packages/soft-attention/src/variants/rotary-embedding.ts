import {
  add,
  ArgumentError,
  concat,
  type ConfigError,
  deviceBackend,
  expectTensor,
  formatShape,
  mul,
  neg,
  reshape,
  ShapeError,
  slice,
  Tensor,
} from '@heed/tensor';

// Shape letters: L positions, d features (even), ... any leading dims (B, H).

/**
 * How feature pairs are formed. 'rotate-half' (GPT-NeoX, Hugging Face Llama): pair (i, i + d/2).
 * 'interleaved' (GPT-J, RoFormer): pair (2i, 2i + 1). Pair i turns by the angle p · base^(−2i/d).
 */
export type RotaryStyle = 'rotate-half' | 'interleaved';

export interface RotaryEmbeddingOptions {
  /** The frequency base (default 10000; Llama 3 uses 500000). */
  base?: number;
  /** Which features pair up (default 'rotate-half'). */
  style?: RotaryStyle;
  /** Row r of x is at position r + positionOffset (default 0); e.g. the number of cached tokens when decoding. */
  positionOffset?: number;
  /** The position of every row instead (length L); excludes `positionOffset`. */
  positions?: ArrayLike<number>;
  /** 'heads-first' (default): x [..., L, d]; 'sequence-first': x [..., L, H, d], the positions on axis −3. */
  layout?: 'heads-first' | 'sequence-first';
}

/** θ[p, i] = positions[p] · base^(−2i/d), in float64: [L, d/2] row-major. */
export function rotaryAngles(positions: ArrayLike<number>, dim: number, base = 10000): Float64Array {
  const op = 'rotaryAngles';
  if (typeof positions !== 'object' || positions === null || typeof positions.length !== 'number')
    throw new ArgumentError(`positions must be an array of numbers, got ${String(positions)}`, { op, argument: 'positions' });
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0)
    throw new ArgumentError(`dim must be a positive even integer (features rotate in pairs), got ${dim}`, { op, argument: 'dim' });
  checkRotaryOptions(op, { base, positions });
  const half = dim / 2;
  const angles = new Float64Array(positions.length * half);
  for (let p = 0; p < positions.length; p++) {
    for (let i = 0; i < half; i++) angles[p * half + i] = positions[p]! * base ** ((-2 * i) / dim);
  }
  return angles;
}

/**
 * Rotary position embedding (Su et al. 2021, RoFormer): every feature pair of row p turns by its
 * angle θ[p, i], x_rot = x ⊙ cos + pairSwap(x) ⊙ sin, with pairSwap(x) = (−x_second, x_first) per pair.
 * x [..., L, d] -> [..., L, d] (heads-first: the positions are the second-to-last axis; with layout
 * 'sequence-first' x [..., L, H, d]). Built from public tensor ops, so gradients flow to x.
 */
export function applyRotaryEmbedding(x: Tensor, options: RotaryEmbeddingOptions = {}): Tensor {
  const op = 'applyRotaryEmbedding';
  expectTensor(op, 'x', x);
  const { base, style } = checkRotaryOptions(op, options);
  const sequenceFirst = options.layout === 'sequence-first';
  if (x.rank < (sequenceFirst ? 3 : 2) || x.shape[x.rank - 1]! % 2 !== 0) {
    throw new ShapeError(
      `x ${formatShape(x.shape)} must be ${sequenceFirst ? '[..., L, H, d]' : '[..., L, d]'} with an even feature size d (features rotate in pairs)`,
      {
        op,
        argument: 'x',
        shapes: { x: x.shape },
      },
    );
  }
  const L = x.shape[x.rank - (sequenceFirst ? 3 : 2)]!;
  const d = x.shape[x.rank - 1]!;
  const positions = rowPositions(op, options, L);
  const angles = rotaryAngles(positions, d, base); // [L, d/2]
  const cos = new Float32Array(L * d);
  const sin = new Float32Array(L * d);
  for (let p = 0; p < L; p++) {
    for (let i = 0; i < d / 2; i++) {
      const theta = angles[p * (d / 2) + i]!;
      // the two features of pair i: (i, i + d/2) or (2i, 2i + 1)
      const [first, second] = style === 'rotate-half' ? [i, i + d / 2] : [2 * i, 2 * i + 1];
      cos[p * d + first] = cos[p * d + second] = Math.cos(theta);
      sin[p * d + first] = sin[p * d + second] = Math.sin(theta);
    }
  }
  const swapped = style === 'rotate-half' ? rotateHalf(x) : rotatePairs(x); // [..., L, d]
  const table = sequenceFirst ? [L, 1, d] : [L, d]; // broadcast over the heads with 'sequence-first'
  // The tables live where x does (uploaded when x is on a device: they are constants, built on the host).
  const where = (values: Float32Array) =>
    x.storage === null ? new Tensor(values, table) : new Tensor(deviceBackend(x.device, op).upload(values), table);
  return add(mul(x, where(cos)), mul(swapped, where(sin))); // [..., L, d] (or [..., L, H, d])
}

/** (x_a, x_b) -> (−x_b, x_a) with a = the first half, b = the second: [..., d] -> [..., d]. */
function rotateHalf(x: Tensor): Tensor {
  const d = x.shape[x.rank - 1]!;
  return concat([neg(slice(x, -1, d / 2)), slice(x, -1, 0, d / 2)], -1); // [..., d/2] ++ [..., d/2] -> [..., d]
}

/** (x_2i, x_2i+1) -> (−x_2i+1, x_2i) for every pair: [..., d] -> [..., d]. */
function rotatePairs(x: Tensor): Tensor {
  const d = x.shape[x.rank - 1]!;
  const pairs = reshape(x, [...x.shape.slice(0, -1), d / 2, 2]); // [..., d] -> [..., d/2, 2]
  const turned = concat([neg(slice(pairs, -1, 1, 2)), slice(pairs, -1, 0, 1)], -1); // [..., d/2, 2]
  return reshape(turned, x.shape); // [..., d/2, 2] -> [..., d]
}

/** The position of each of the L rows. */
function rowPositions(op: string, options: RotaryEmbeddingOptions, L: number): ArrayLike<number> {
  if (options.positions !== undefined) {
    if (options.positions.length !== L) {
      throw new ArgumentError(`positions has ${options.positions.length} entries, x has L = ${L} rows`, { op, argument: 'positions' });
    }
    return options.positions;
  }
  const offset = options.positionOffset ?? 0;
  return Array.from({ length: L }, (_, r) => r + offset);
}

/**
 * Checks base, style and the position options; returns base and style with their defaults. Fails with
 * `Failure` (ArgumentError at a call, ConfigError in a constructor).
 */
export function checkRotaryOptions(
  op: string,
  options: { base?: number; style?: RotaryStyle; positionOffset?: number; positions?: ArrayLike<number> },
  Failure: typeof ArgumentError | typeof ConfigError = ArgumentError,
): { base: number; style: RotaryStyle } {
  if (typeof options !== 'object' || options === null)
    throw new Failure(`options must be an object { base, style, ... }, got ${String(options)}`, { op, argument: 'options' });
  const base = options.base ?? 10000;
  if (!Number.isFinite(base) || base <= 1) throw new Failure(`base must be a finite number > 1, got ${base}`, { op, argument: 'base' });
  const style = options.style ?? 'rotate-half';
  if (style !== 'rotate-half' && style !== 'interleaved') {
    throw new Failure(`style must be 'rotate-half' or 'interleaved', got ${JSON.stringify(style)}`, { op, argument: 'style' });
  }
  if (options.positions !== undefined && options.positionOffset !== undefined) {
    throw new ArgumentError('give positions or positionOffset, not both', { op, argument: 'positions' });
  }
  if (options.positionOffset !== undefined && !Number.isFinite(options.positionOffset)) {
    throw new ArgumentError(`positionOffset must be a finite number, got ${options.positionOffset}`, { op, argument: 'positionOffset' });
  }
  if (options.positions !== undefined && !Array.from(options.positions).every((p) => Number.isFinite(p))) {
    throw new ArgumentError('positions must be finite numbers', { op, argument: 'positions' });
  }
  return { base, style };
}
