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
    const z = tensor([[1, -Infinity, 0.5], [-Infinity, -Infinity, -Infinity]], undefined, { requiresGrad: true });
    const p = sparsemax(z);
    expect(Array.from(p.data)).toEqual([0.75, 0, 0.25, 0, 0, 0]);
    sum(mul(p, tensor([[1, 2, 3], [4, 5, 6]]))).backward();
    expect(Array.from(z.grad!.data)).toEqual([-1, 0, 1, 0, 0, 0]);
  });
});
