import { deviceBackend } from '../device/device-registry';
import { ArgumentError } from '../errors/argument-error';
import { expectRng, expectTensor } from '../expect-tensor';
import type { Rng } from '../rng';
import { fromOp, Tensor } from '../tensor';
import { mul } from './binary';

/**
 * Zeroes each element with probability `p` and scales the rest by 1/(1 − p) (inverted dropout),
 * from a seeded generator: same seed, same mask. Identity when `training` is false or p = 0.
 * On a device the mask is drawn on the host from the same generator and uploaded: the device keeps exactly the
 * elements the CPU keeps.
 */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  expectTensor('dropout', 'x', x);
  if (!(p >= 0 && p < 1)) {
    throw new ArgumentError(`p must be in [0, 1), got ${p}`, { op: 'dropout', argument: 'p', shapes: { x: x.shape } });
  }
  if (!training || p === 0) return x;
  expectRng('dropout', 'rng', rng);
  const backend = x.storage === null ? null : deviceBackend(x.device, 'dropout'); // before the generator moves
  const scale = 1 / (1 - p);
  const keep = new Float32Array(x.size);
  for (let i = 0; i < keep.length; i++) keep[i] = rng.uniform() >= p ? scale : 0;
  if (backend !== null) {
    const keepOnDevice = new Tensor(backend.upload(keep), x.shape);
    const kept = mul(new Tensor(x.storage!, x.shape), keepOnDevice); // x ⊙ keep, outside the graph
    return fromOp(kept.storage!, x.shape, 'dropout', [x], (g) => [mul(g, keepOnDevice)]); // [...x.shape]
  }
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = x.data[i]! * keep[i]!;
  return fromOp(out, x.shape, 'dropout', [x], (g) => [mul(g, new Tensor(keep, x.shape))]);
}
