import { gradcheck, mul, randn, Rng, sum, tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { assertClose, loadFixture, toHeed } from '../../../fixtures/load-fixture';
import { entmax15 } from './entmax15';

describe('entmax15', () => {
  it('matches the reference on every row of entmax15.json, gradients included', () => {
    const f = loadFixture('entmax15');
    const z = toHeed(f.inputs.z!, true);
    const p = entmax15(z);
    assertClose('output', p, f.outputs.output!);
    sum(mul(p, toHeed(f.grad_outputs!.output!))).backward();
    assertClose('grad z', z.grad!, f.grads!.inputs!.z!);
  });

  it('has the gradient finite differences give', () => {
    const rng = new Rng(11);
    const z = randn([5, 7], rng).mul(3);
    const result = gradcheck((x) => entmax15(x), [z], { eps: 1e-3 });
    expect(result.ok, JSON.stringify(result)).toBe(true);
  });

  it('solves Σ max(z/2 − τ, 0)² = 1 (checked by bisection on τ, in the test)', () => {
    const rng = new Rng(2);
    const z = randn([3, 9], rng).mul(4);
    const p = entmax15(z);
    for (let r = 0; r < 3; r++) {
      const row = Array.from(z.data.subarray(r * 9, (r + 1) * 9), (v) => v / 2);
      let lo = Math.max(...row) - 1;
      let hi = Math.max(...row);
      for (let it = 0; it < 200; it++) {
        const mid = (lo + hi) / 2;
        const total = row.reduce((s, x) => s + Math.max(x - mid, 0) ** 2, 0);
        if (total > 1) lo = mid;
        else hi = mid;
      }
      row.forEach((x, i) => expect(p.data[r * 9 + i]).toBeCloseTo(Math.max(x - lo, 0) ** 2, 6));
    }
  });

  it('gives zeros for a fully masked row and ignores −∞ entries', () => {
    const z = tensor(
      [
        [0, -Infinity, 0],
        [-Infinity, -Infinity, -Infinity],
      ],
      undefined,
      { requiresGrad: true },
    );
    const p = entmax15(z);
    expect(Array.from(p.data)).toEqual([0.5, 0, 0.5, 0, 0, 0]);
    sum(
      mul(
        p,
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]),
      ),
    ).backward();
    for (const g of z.grad!.data) expect(Number.isFinite(g)).toBe(true);
    expect(Array.from(z.grad!.data.subarray(3))).toEqual([0, 0, 0]);
  });

  it('is exact for logits of any size (1e16 to 3e38): the row max is subtracted first', () => {
    const z = tensor(
      [
        [1e30, 0, -1e30], // a gap ≥ 2 to the runner-up: one-hot
        [1e16, 0, -1e16],
        [-1e30, -1e30, -1e30], // three ties: 1/3 each
        [3e38, 3e38, -3e38], // two ties at the top of float32: 1/2 each
      ],
      undefined,
      { requiresGrad: true },
    );
    const p = entmax15(z);
    expect(Array.from(p.data)).toEqual([1, 0, 0, 1, 0, 0, 1 / 3, 1 / 3, 1 / 3, 0.5, 0.5, 0].map(Math.fround));
    sum(
      mul(
        p,
        tensor([
          [1, 2, 3],
          [1, 2, 3],
          [1, 2, 3],
          [1, 2, 6],
        ]),
      ),
    ).backward();
    // dz = s ⊙ (g − (sᵀg) / Σs), s = √p: one-hot rows pass nothing; ties pass s·(g_i − mean over the support).
    const third = Math.sqrt(1 / 3);
    const half = Math.sqrt(0.5);
    const expected = [0, 0, 0, 0, 0, 0, -third, 0, third, -0.5 * half, 0.5 * half, 0];
    expected.forEach((g, i) => expect(z.grad!.data[i]).toBeCloseTo(g, 6));
  });

  it('near 4e6 equals the bisection reference of the exact float32 differences', () => {
    const offsets = [0, 0.5, -0.25, 0.75, -1.5];
    const z = tensor([offsets.map((x) => 4e6 + x)]);
    const p = entmax15(z);
    // Independent reference: bisection on τ for Σ max(x/2 − τ, 0)² = 1 over the offsets alone.
    const row = offsets.map((x) => x / 2);
    let lo = Math.max(...row) - 1;
    let hi = Math.max(...row);
    for (let it = 0; it < 200; it++) {
      const mid = (lo + hi) / 2;
      if (row.reduce((s, x) => s + Math.max(x - mid, 0) ** 2, 0) > 1) lo = mid;
      else hi = mid;
    }
    row.forEach((x, i) => expect(p.data[i]).toBeCloseTo(Math.max(x - lo, 0) ** 2, 6));
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
    const p = entmax15(z);
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
    for (const g of z.grad!.data) expect(Number.isFinite(g)).toBe(true);
    expect(z.grad!.data[0]).toBeCloseTo(-Math.sqrt(0.5), 6);
  });
});
