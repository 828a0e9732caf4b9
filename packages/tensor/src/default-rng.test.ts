import { describe, expect, test } from 'vitest';
import { defaultRng, manualSeed } from './default-rng';
import { Rng } from './rng';

describe('defaultRng and manualSeed', () => {
  test('manualSeed replaces the shared generator with a freshly seeded one', () => {
    manualSeed(31);
    const first = Array.from({ length: 5 }, () => defaultRng().nextUint32());
    manualSeed(31);
    expect(Array.from({ length: 5 }, () => defaultRng().nextUint32())).toEqual(first);
    const reference = new Rng(31);
    expect(first).toEqual(Array.from({ length: 5 }, () => reference.nextUint32()));
    manualSeed(0);
  });

  test('defaultRng returns the same shared instance between reseeds', () => {
    expect(defaultRng()).toBe(defaultRng());
  });
});
