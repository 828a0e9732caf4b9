import { ConfigError, Module, randn, Rng, type Tensor } from '@heed/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { DotScorer } from './dot';
import { createScorer, listScorers, registerScorer, unregisterScorer } from './registry';
import { ScaledDotScorer } from './scaled-dot';
import type { Scorer } from './scorer';

class NegativeDistance extends Module implements Scorer {
  readonly kind = 'neg-distance';
  score(query: Tensor, keys: Tensor): Tensor {
    return new DotScorer().score(query, keys).mul(-1);
  }
}

describe('scorer registry', () => {
  afterEach(() => {
    unregisterScorer('neg-distance');
    unregisterScorer('my-dot');
  });

  it('lists the six built-in kinds', () => {
    expect(listScorers()).toEqual(['dot', 'scaled-dot', 'general', 'concat', 'additive', 'cosine']);
  });

  it('creates every built-in kind with its options', () => {
    const rng = new Rng(0);
    const q = randn([2, 3, 4], rng);
    const k = randn([2, 5, 4], rng);
    for (const kind of listScorers()) {
      const scorer = createScorer({ kind, queryDim: 4, keyDim: 4, rng });
      expect(scorer.kind).toBe(kind);
      expect(scorer.score(q, k).shape).toEqual([2, 3, 5]);
    }
    expect(createScorer({ kind: 'scaled-dot', scale: 0.25 })).toBeInstanceOf(ScaledDotScorer);
    expect(createScorer({ kind: 'additive', queryDim: 4, keyDim: 3, hiddenDim: 7 }).b.shape).toEqual([7]);
  });

  it('fails on an unknown kind with the list of known kinds', () => {
    expect(() => createScorer({ kind: 'nope' })).toThrow(ConfigError);
    expect(() => createScorer({ kind: 'nope' })).toThrow(
      "unknown scorer kind 'nope'; known kinds: dot, scaled-dot, general, concat, additive, cosine",
    );
  });

  it('registers a new kind, refuses a taken one unless replaced explicitly', () => {
    registerScorer('neg-distance', () => new NegativeDistance());
    expect(listScorers()).toContain('neg-distance');
    expect(createScorer({ kind: 'neg-distance' })).toBeInstanceOf(NegativeDistance);
    expect(() => registerScorer('neg-distance', () => new NegativeDistance())).toThrow(/already registered/);
    expect(() => registerScorer('dot', () => new DotScorer())).toThrow(/'dot' is already registered/);
    registerScorer('neg-distance', () => new DotScorer(), { replace: true });
    expect(createScorer({ kind: 'neg-distance' })).toBeInstanceOf(DotScorer);
  });

  it('reports the registered name when a factory reuses a class', () => {
    registerScorer('my-dot', () => new DotScorer());
    expect(createScorer({ kind: 'my-dot' }).kind).toBe('my-dot');
  });
});
