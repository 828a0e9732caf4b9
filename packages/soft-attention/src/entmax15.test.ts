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
    const z = tensor([[0, -Infinity, 0], [-Infinity, -Infinity, -Infinity]], undefined, { requiresGrad: true });
    const p = entmax15(z);
    expect(Array.from(p.data)).toEqual([0.5, 0, 0.5, 0, 0, 0]);
    sum(mul(p, tensor([[1, 2, 3], [4, 5, 6]]))).backward();
    for (const g of z.grad!.data) expect(Number.isFinite(g)).toBe(true);
    expect(Array.from(z.grad!.data.subarray(3))).toEqual([0, 0, 0]);
  });
});
