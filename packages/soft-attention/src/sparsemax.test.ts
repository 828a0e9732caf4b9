import { gradcheck, mul, randn, Rng, sum, tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { assertClose, loadFixture, toHeed, values } from '../../../fixtures/load-fixture';
import { sparsemax } from './sparsemax';

describe('sparsemax', () => {
  it('matches the reference on every row of sparsemax.json (ties, dominant, equal, large, negative, random)', () => {
    const f = loadFixture('sparsemax');
    const z = toHeed(f.inputs.z!, true);
    const p = sparsemax(z);
    assertClose('output', p, f.outputs.output!);
    sum(mul(p, toHeed(f.grad_outputs!.output!))).backward();
    assertClose('grad z', z.grad!, f.grads!.inputs!.z!);
  });

  it('matches the reference at ties exactly on the threshold (sparsemax_boundary_ties.json)', () => {
    const f = loadFixture('sparsemax_boundary_ties');
    assertClose('output', sparsemax(toHeed(f.inputs.z!)), f.outputs.output!);
  });

  it('gives rows that sum to 1 with exact zeros, and the reference support sizes', () => {
    const f = loadFixture('sparsemax');
    const p = sparsemax(toHeed(f.inputs.z!));
    const support = values(f.outputs.support_size!);
    const n = f.inputs.z!.shape[1]!;
    for (let r = 0; r < support.length; r++) {
      const row = Array.from(p.data.subarray(r * n, (r + 1) * n));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expect(row.filter((x) => x > 0).length).toBe(support[r]);
    }
  });

  it('has the gradient finite differences give away from kinks', () => {
    const rng = new Rng(7);
    const z = randn([4, 6], rng).mul(2);
    const result = gradcheck((x) => sparsemax(x), [z], { eps: 1e-3 });
    expect(result.ok, JSON.stringify(result)).toBe(true);
  });

  it('never selects −∞ (masked) entries; a row of only −∞ is all zeros with zero gradient', () => {
    const z = tensor(
      [
        [1, -Infinity, 0.5],
        [-Infinity, -Infinity, -Infinity],
      ],
      undefined,
      { requiresGrad: true },
    );
    const p = sparsemax(z);
    expect(Array.from(p.data)).toEqual([0.75, 0, 0.25, 0, 0, 0]);
    sum(
      mul(
        p,
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]),
      ),
    ).backward();
    expect(Array.from(z.grad!.data)).toEqual([-1, 0, 1, 0, 0, 0]);
  });

  it('is exact for logits of any size (1e16 to 3e38): the row max is subtracted first', () => {
    const z = tensor(
      [
        [1e16, 0, -1e16], // a gap ≥ 1 to the runner-up: one-hot
        [-1e30, -1e30, -1e30], // three ties: 1/3 each
        [3e38, 3e38, -3e38], // two ties at the top of float32: 1/2 each
        [4e6, 4e6 + 0.5, 4e6 - 0.25], // exact float32 differences [0, 0.5, −0.25] near 4e6
        [-1e38, 1e20, 1e20 - 2 ** 43], // −1e38 never chosen; the other gap is 2^43 ≥ 1
      ],
      undefined,
      { requiresGrad: true },
    );
    const p = sparsemax(z);
    // Reference by hand: sparsemax([0, 0.5, −0.25]) has support {0, 1}, τ = (0 + 0.5 − 1) / 2 = −0.25 → [0.25, 0.75, 0].
    expect(Array.from(p.data)).toEqual([1, 0, 0, 1 / 3, 1 / 3, 1 / 3, 0.5, 0.5, 0, 0.25, 0.75, 0, 0, 1, 0].map(Math.fround));
    sum(
      mul(
        p,
        tensor([
          [1, 2, 3],
          [1, 2, 3],
          [1, 2, 6],
          [1, 2, 3],
          [1, 2, 3],
        ]),
      ),
    ).backward();
    // dz_i = g_i − mean of g over the support, 0 off it.
    expect(Array.from(z.grad!.data)).toEqual([0, 0, 0, -1, 0, 1, -0.5, 0.5, 0, -0.5, 0.5, 0, 0, 0, 0]);
  });

  it('splits a row with +∞ entries equally among them (the limit), with finite gradients', () => {
    const z = tensor(
      [
        [Infinity, 0, Infinity, -Infinity],
        [Infinity, 1e38, 0, 0],
      ],
      undefined,
      { requiresGrad: true },
    );
    const p = sparsemax(z);
    expect(Array.from(p.data)).toEqual([0.5, 0, 0.5, 0, 1, 0, 0, 0]);
    sum(
      mul(
        p,
        tensor([
          [1, 2, 3, 4],
          [1, 2, 3, 4],
        ]),
      ),
    ).backward();
    expect(Array.from(z.grad!.data)).toEqual([-1, 0, 1, 0, 0, 0, 0, 0]);
  });
});
