import { ArgumentError } from '../errors/argument-error';
import { formatShape } from '../errors/heed-error';
import type { Rng } from '../rng';
import type { Tensor } from '../tensor';

// Initializers fill a tensor in place from a seeded generator and return it.
// Fans follow PyTorch: weight [out, in, ...receptive] has fanIn = in·receptive, fanOut = out·receptive.

/** fanIn and fanOut of a weight shape. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new ArgumentError(`fans need a tensor of rank ≥ 2, got ${formatShape(shape)}`, {
      op: 'init',
      argument: 'tensor',
      shapes: { tensor: shape },
    });
  }
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i]!;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** U(low, high). */
export function uniformInit(t: Tensor, low: number, high: number, rng: Rng): Tensor {
  for (let i = 0; i < t.size; i++) t.data[i] = low + (high - low) * rng.uniform();
  return t;
}

/** N(mean, std²). */
export function normalInit(t: Tensor, mean: number, std: number, rng: Rng): Tensor {
  for (let i = 0; i < t.size; i++) t.data[i] = mean + std * rng.normal();
  return t;
}

/** Glorot & Bengio 2010: U(−a, a), a = gain·√(6 / (fanIn + fanOut)). */
export function xavierUniform(t: Tensor, rng: Rng, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniformInit(t, -a, a, rng);
}

/** Glorot & Bengio 2010: N(0, std²), std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal(t: Tensor, rng: Rng, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  return normalInit(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), rng);
}

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU after this layer (0 for ReLU; √5 gives PyTorch's Linear default). */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
}

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = fans(t.shape);
  const a = options.a ?? 0;
  const gain = Math.sqrt(2 / (1 + a * a));
  return gain / Math.sqrt(options.mode === 'fanOut' ? fanOut : fanIn);
}

/** He et al. 2015: U(−b, b), b = √3 · gain / √fan. */
export function kaimingUniform(t: Tensor, rng: Rng, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniformInit(t, -bound, bound, rng);
}

/** He et al. 2015: N(0, (gain / √fan)²). */
export function kaimingNormal(t: Tensor, rng: Rng, options: KaimingOptions = {}): Tensor {
  return normalInit(t, 0, kaimingStd(t, options), rng);
}
