import { ConfigError, randn, Rng, tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { assertClose, loadFixture, toHeed } from '../../../fixtures/load-fixture';
import { ScaledDotScorer } from './scaled-dot';

describe('ScaledDotScorer', () => {
  it('uses 1/√d by default (sdpa_no_mask scores)', () => {
    const f = loadFixture('sdpa_no_mask');
    const s = new ScaledDotScorer().score(toHeed(f.inputs.query!), toHeed(f.inputs.key!));
    assertClose('scores', s, f.outputs.scores!);
  });

  it('takes any positive scale (sdpa_custom_scale, 0.375)', () => {
    const f = loadFixture('sdpa_custom_scale');
    const s = new ScaledDotScorer({ scale: 0.375 }).score(toHeed(f.inputs.query!), toHeed(f.inputs.key!));
    assertClose('scores', s, f.outputs.scores!);
  });

  it('keeps logits near 1e3 accurate (sdpa_large_logits_offset)', () => {
    const f = loadFixture('sdpa_large_logits_offset');
    const s = new ScaledDotScorer().score(toHeed(f.inputs.query!), toHeed(f.inputs.key!));
    assertClose('scores', s, f.outputs.scores!, { rtol: 1e-3, atol: 1e-3 });
  });

  it('is the dot product times the scale', () => {
    const q = tensor([[[1, 2]]]);
    const k = tensor([
      [
        [3, 4],
        [1, 0],
      ],
    ]);
    expect(Array.from(new ScaledDotScorer({ scale: 2 }).score(q, k).data)).toEqual([22, 2]);
    expect(new ScaledDotScorer().scaleFor(16)).toBe(0.25);
  });

  it('refuses a non-positive or non-finite scale in the constructor', () => {
    expect(() => new ScaledDotScorer({ scale: 0 })).toThrow(ConfigError);
    expect(() => new ScaledDotScorer({ scale: Number.NaN })).toThrow(/scale must be a finite number > 0/);
  });

  it('refuses dq ≠ dk', () => {
    const rng = new Rng(0);
    expect(() => new ScaledDotScorer().score(randn([1, 2, 3], rng), randn([1, 2, 4], rng))).toThrow(/dq must equal dk/);
  });
});
