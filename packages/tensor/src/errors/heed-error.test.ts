import { describe, expect, test } from 'vitest';
import { ArgumentError } from './argument-error';
import { ConfigError } from './config-error';
import { formatShape, HeedError, heedErrorBrand, isHeedError } from './heed-error';
import { ShapeError } from './shape-error';
import { StateDictError } from './state-dict-error';

describe('HeedError and its subclasses', () => {
  test('prefix the message with the op and carry structured fields', () => {
    const error = new ShapeError('a [2] and b [3] differ', { op: 'add', argument: 'b', shapes: { a: [2], b: [3] } });
    expect(error.message).toBe('add: a [2] and b [3] differ');
    expect(error.op).toBe('add');
    expect(error.argument).toBe('b');
    expect(error.shapes).toEqual({ a: [2], b: [3] });
    expect(error.name).toBe('ShapeError');
    expect(error).toBeInstanceOf(HeedError);
    expect(error).toBeInstanceOf(Error);
  });

  test('each subclass keeps its own name; shapes default to empty; StateDictError keeps its keys', () => {
    expect(new ArgumentError('m', { op: 'o', argument: 'a' }).name).toBe('ArgumentError');
    const config = new ConfigError('m', { op: 'Linear', argument: 'inFeatures' });
    expect(config.name).toBe('ConfigError');
    expect(config.shapes).toEqual({});
    const state = new StateDictError('m', { op: 'load', argument: 'state', keys: ['a.weight'] });
    expect(state.name).toBe('StateDictError');
    expect(state.keys).toEqual(['a.weight']);
    expect(state).toBeInstanceOf(HeedError);
  });

  test('formatShape', () => {
    expect(formatShape([2, 3, 4])).toBe('[2, 3, 4]');
    expect(formatShape([])).toBe('[]');
  });
});

describe('the heed error brand', () => {
  test('instanceof and isHeedError read the brand, so an error from a second installed copy is recognised', () => {
    // "Another copy" of @heed/tensor: its own classes, no shared prototype, the same Symbol.for brand.
    class ForeignShapeError extends Error {
      readonly op = 'matmul';
      readonly argument = 'b';
      constructor(message: string) {
        super(message);
        (this as unknown as Record<symbol, unknown>)[Symbol.for('heed.error')] = ['ShapeError', 'HeedError'];
      }
    }
    const foreign = new ForeignShapeError('matmul: a [2] and b [3] differ');
    expect(isHeedError(foreign)).toBe(true);
    expect(foreign instanceof ShapeError).toBe(true);
    expect(foreign instanceof HeedError).toBe(true);
    expect(foreign instanceof ConfigError).toBe(false);
    expect(isHeedError(new Error('plain'))).toBe(false);
    expect(isHeedError({ [heedErrorBrand]: ['Other'] })).toBe(false);
    expect(new Error('plain') instanceof HeedError).toBe(false);
    const own = new StateDictError('m', { op: 'load', argument: 'state', keys: [] });
    expect(own[heedErrorBrand]).toEqual(['StateDictError', 'HeedError']);
    expect([own instanceof StateDictError, own instanceof HeedError, own instanceof ShapeError]).toEqual([true, true, false]);
  });

  test('the brand survives a bundler that renames the classes (static errorName, not the class name)', () => {
    // What a minifier makes of the classes: short class names, the errorName strings untouched.
    const renamed = [HeedError, ShapeError, ConfigError];
    renamed.forEach((c, i) => Object.defineProperty(c, 'name', { value: 'abc'[i], configurable: true }));
    try {
      const error = new ShapeError('m', { op: 'matmul', argument: 'b' });
      expect(error.name).toBe('ShapeError');
      expect(error[heedErrorBrand]).toEqual(['ShapeError', 'HeedError']);
      expect([isHeedError(error), error instanceof ShapeError, error instanceof HeedError, error instanceof ConfigError]).toEqual([
        true,
        true,
        true,
        false,
      ]);
    } finally {
      renamed.forEach((c) => Object.defineProperty(c, 'name', { value: c.errorName, configurable: true }));
    }
    // A user's subclass without an errorName is known by its class name.
    class MyScorerError extends ArgumentError {}
    const mine = new MyScorerError('m', { op: 'score', argument: 'query' });
    expect([mine.name, mine instanceof MyScorerError, mine instanceof ArgumentError, mine instanceof ShapeError]).toEqual([
      'MyScorerError',
      true,
      true,
      false,
    ]);
  });
});
