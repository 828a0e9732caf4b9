import { ArgumentError, type HeedError } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { lengthsToMask, toMask } from './masks';

// Masks from bad input: a named ArgumentError, never a RangeError from a Float32Array or a string
// read as NaN (non-zero, so all-keep).

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const bad = (x: unknown): any => x;

const rows: Record<string, { call: () => unknown; op: string; argument: string }> = {
  'lengthsToMask([1, 2], -1)': { call: () => lengthsToMask([1, 2], -1), op: 'lengthsToMask', argument: 'maxLength' },
  'lengthsToMask([1, 2], 2.5)': { call: () => lengthsToMask([1, 2], 2.5), op: 'lengthsToMask', argument: 'maxLength' },
  'lengthsToMask([1, 2], NaN)': { call: () => lengthsToMask([1, 2], NaN), op: 'lengthsToMask', argument: 'maxLength' },
  "lengthsToMask('12', 3)": { call: () => lengthsToMask(bad('12'), 3), op: 'lengthsToMask', argument: 'lengths' },
  'lengthsToMask(null, 3)': { call: () => lengthsToMask(bad(null), 3), op: 'lengthsToMask', argument: 'lengths' },
  'lengthsToMask([4], 3)': { call: () => lengthsToMask([4], 3), op: 'lengthsToMask', argument: 'lengths' },
  "toMask('10101') (5 characters)": { call: () => toMask(bad('10101')), op: 'toMask', argument: 'mask' },
  'toMask(null)': { call: () => toMask(bad(null)), op: 'toMask', argument: 'mask' },
  'toMask({})': { call: () => toMask(bad({})), op: 'toMask', argument: 'mask' },
};

describe('mask helpers refuse bad input, naming themselves', () => {
  it.each(Object.entries(rows))('%s', (_label, row) => {
    let caught: unknown = null;
    try {
      row.call();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ArgumentError);
    expect([(caught as HeedError).op, (caught as HeedError).argument]).toEqual([row.op, row.argument]);
  });

  it('still takes arrays, booleans and typed arrays', () => {
    expect(Array.from(toMask([[true, false, true]]).data)).toEqual([1, 0, 1]);
    expect(Array.from(toMask(bad(Float32Array.of(1, 0))).data)).toEqual([1, 0]);
    expect(lengthsToMask(Int32Array.of(1, 0), 2).toArray()).toEqual([
      [1, 0],
      [0, 0],
    ]);
    expect(lengthsToMask([], 0).shape).toEqual([0, 0]);
  });
});
