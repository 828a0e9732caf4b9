import {
  add,
  ArgumentError,
  DeviceError,
  defaultRng,
  deviceBackend,
  div,
  expectRng,
  expectTensor,
  formatShape,
  fromOp,
  mul,
  type Rng,
  ShapeError,
  softmax,
  sub,
  sum,
  Tensor,
} from '@heed/tensor';
import { checkFiniteInput } from '../check-finite-input';

// Shape letters: n entries per row (the last axis: the keys), ... leading dims.

export interface GumbelSoftmaxOptions {
  /** τ of the backward surrogate softmax(y / τ) (default 1); lower is closer to the one-hot. */
  temperature?: number;
  /** The Gumbel noise to add, same shape as the logits (a tensor, so it may take gradients too); default: drawn from `rng`. */
  noise?: Tensor;
  /** Generator for the noise when none is given (default: the shared default generator). */
  rng?: Rng;
}

/**
 * Hard attention by straight-through Gumbel-softmax (Jang, Gu & Poole 2017; Bengio et al. 2013):
 * y = logits + g with g ~ Gumbel(0, 1); forward one_hot(argmax y) exactly; backward as if the forward had
 * been softmax(y / τ). [..., n] -> [..., n]; −∞ entries (masked) are never picked, a row of only −∞ is 0.
 * On a device the noise is drawn on the host from the same generator and uploaded, so the picks equal the CPU's.
 */
export function straightThroughGumbelSoftmax(logits: Tensor, options: GumbelSoftmaxOptions = {}): Tensor {
  const op = 'straightThroughGumbelSoftmax';
  expectTensor(op, 'logits', logits);
  checkFiniteInput(op, 'logits', logits, { allowNegativeInfinity: true }); // −∞ is a masked entry
  const temperature = options.temperature ?? 1;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw new ArgumentError(`temperature must be a finite number > 0, got ${temperature}`, { op, argument: 'temperature' });
  }
  if (options.noise && options.noise.shape.join() !== logits.shape.join()) {
    throw new ShapeError(`noise ${formatShape(options.noise.shape)} must have the shape of logits ${formatShape(logits.shape)}`, {
      op,
      argument: 'noise',
      shapes: { logits: logits.shape, noise: options.noise.shape },
    });
  }
  if (logits.storage !== null) oneHotBackend(logits); // refused before the generator moves
  const noise = options.noise ?? onDeviceOf(logits, gumbelNoise(logits.shape, options.rng ?? defaultRng())); // [..., n]
  return straightThroughOneHot(add(logits, noise), temperature); // [..., n]
}

/** Standard Gumbel noise −log(−log U), U ~ Uniform(0, 1), of `shape`. -> [...shape] */
export function gumbelNoise(shape: readonly number[], rng: Rng): Tensor {
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0))
    throw new ArgumentError(`shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, {
      op: 'gumbelNoise',
      argument: 'shape',
    });
  expectRng('gumbelNoise', 'rng', rng);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++)
    data[i] = -Math.log(-Math.log(Math.min(Math.max(rng.uniform(), Number.MIN_VALUE), 1 - Number.EPSILON / 2)));
  return new Tensor(data, shape);
}

/**
 * one_hot(argmax y) forward; backward dy = soft ⊙ (g − Σ soft ⊙ g) / τ with soft = softmax(y / τ).
 * [..., n] -> [..., n]
 */
function straightThroughOneHot(y: Tensor, temperature: number): Tensor {
  if (y.storage !== null) return deviceStraightThroughOneHot(y, temperature); // [..., n]
  const n = y.shape[y.rank - 1] ?? 1;
  const rows = n === 0 ? 0 : y.size / n;
  const hard = new Float32Array(y.size);
  const soft = new Float64Array(y.size); // softmax(y / τ), for the backward pass
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let best = -1;
    for (let i = 0; i < n; i++) if (y.data[base + i]! > -Infinity && (best < 0 || y.data[base + i]! > y.data[base + best]!)) best = i;
    if (best < 0) continue; // fully masked row: zeros, no gradient
    hard[base + best] = 1;
    let total = 0;
    for (let i = 0; i < n; i++) total += soft[base + i] = Math.exp((y.data[base + i]! - y.data[base + best]!) / temperature);
    for (let i = 0; i < n; i++) soft[base + i]! /= total;
  }
  return fromOp(hard, y.shape, 'straightThroughGumbelSoftmax', [y], (g) => {
    const dy = new Float32Array(y.size);
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += soft[base + i]! * g.data[base + i]!;
      for (let i = 0; i < n; i++) dy[base + i] = (soft[base + i]! * (g.data[base + i]! - dot)) / temperature;
    }
    return [new Tensor(dy, y.shape)];
  });
}

/** The same on a device: the one-hot by the device's kernel; the backward from softmax(y / τ), on the device. [..., n] -> [..., n] */
function deviceStraightThroughOneHot(y: Tensor, temperature: number): Tensor {
  const { backend, oneHotArgmax } = oneHotBackend(y);
  const n = y.shape[y.rank - 1] ?? 1;
  const rows = n === 0 ? 0 : y.size / n;
  const hard = oneHotArgmax.call(backend, y.storage!, rows, n); // [..., n]
  return fromOp(hard, y.shape, 'straightThroughGumbelSoftmax', [y], (g) => {
    const soft = softmax(div(y, temperature)); // [..., n]
    return [div(mul(soft, sub(g, sum(mul(soft, g), -1, true))), temperature)]; // [..., n]
  });
}

/** A host tensor on the device of `like` (uploaded as it is: the device gets exactly the host's values). */
function onDeviceOf(like: Tensor, t: Tensor): Tensor {
  return like.storage === null ? t : new Tensor(deviceBackend(like.device, 'straightThroughGumbelSoftmax').upload(t.data), t.shape);
}

/** The backend of device logits and its one-hot kernel; a DeviceError when it has none. */
function oneHotBackend(logits: Tensor) {
  const op = 'straightThroughGumbelSoftmax';
  const backend = deviceBackend(logits.device, op);
  const { oneHotArgmax } = backend;
  if (oneHotArgmax === undefined) {
    throw new DeviceError(
      `logits ${formatShape(logits.shape)} are on '${logits.device}', whose backend has no one-hot kernel: move them with \`await toCpu(logits)\` first`,
      { op, argument: 'logits', shapes: { logits: logits.shape } },
    );
  }
  return { backend, oneHotArgmax };
}
