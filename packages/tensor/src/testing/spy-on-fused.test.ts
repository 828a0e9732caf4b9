import { describe, expect, it } from 'vitest';
import { getKernels } from '../kernels/registry';
import { scaledDotProductAttention } from '../ops/scaled-dot-product-attention';
import { Rng } from '../rng';
import { randn } from '../creation';
import { spyOnFused } from './spy-on-fused';

describe('spyOnFused', () => {
  it('records each fused forward problem, returns the plain kernel’s output, and restore() puts the kernel back', () => {
    const before = getKernels().attentionForward;
    const rng = new Rng(1);
    const [q, k, v] = [randn([1, 2, 3, 4], rng), randn([1, 2, 5, 4], rng), randn([1, 2, 5, 4], rng)];
    const unspied = scaledDotProductAttention(q, k, v);
    const { problems, restore } = spyOnFused();
    try {
      const spied = scaledDotProductAttention(q, k, v);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ queryLength: 3, keyLength: 5 });
      expect(Array.from(spied.data)).toEqual(Array.from(unspied.data));
    } finally {
      restore();
    }
    expect(getKernels().attentionForward).toBe(before);
  });
});
