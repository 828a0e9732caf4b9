import { describe, expect, it } from 'vitest';
import { Rng } from '@heed/tensor';
import {
  decodeOutput,
  encodeInput,
  encodeOutput,
  formatDate,
  INPUT_LENGTH,
  isHeldOut,
  makeExamples,
  PAD,
  randomExample,
  UNK,
} from './data';

describe('date data', () => {
  it('writes a date in each format, with the output in ISO form', () => {
    const date = { year: 2026, month: 11, day: 25 };
    expect(formatDate(date, 'long').input).toBe('25 November 2026');
    expect(formatDate(date, 'numeric').input).toBe('11/25/26');
    expect(formatDate(date, 'short').input).toBe('Nov 25, 2026');
    for (const format of ['long', 'numeric', 'short'] as const) expect(formatDate(date, format).target).toBe('2026-11-25');
    expect(formatDate({ year: 1987, month: 3, day: 5 }, 'long')).toMatchObject({ input: '5 March 1987', target: '1987-03-05' });
    expect(formatDate({ year: 2004, month: 7, day: 9 }, 'numeric')).toMatchObject({ input: '07/09/04', target: '2004-07-09' });
    expect(formatDate({ year: 1999, month: 9, day: 30 }, 'short')).toMatchObject({ input: 'Sep 30, 1999', target: '1999-09-30' });
  });

  it('names the input characters that carry each output character', () => {
    // output "2026-11-25": year 0-3, '-', month 5-6, '-', day 8-9
    expect(formatDate({ year: 2026, month: 11, day: 25 }, 'long').carriers).toEqual([
      [12],
      [13],
      [14],
      [15],
      [],
      [3, 4, 5, 6, 7, 8, 9, 10],
      [3, 4, 5, 6, 7, 8, 9, 10],
      [],
      [0],
      [1],
    ]);
    expect(formatDate({ year: 2026, month: 11, day: 25 }, 'numeric').carriers).toEqual([[], [], [6], [7], [], [0], [1], [], [3], [4]]);
    // "Nov 5, 2026": the day's leading 0 is implied
    expect(formatDate({ year: 2026, month: 11, day: 5 }, 'short').carriers).toEqual([
      [7],
      [8],
      [9],
      [10],
      [],
      [0, 1, 2],
      [0, 1, 2],
      [],
      [],
      [4],
    ]);
  });

  it('never draws a held-out date for training, and only held-out dates for evaluation', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 2000; i++) expect(isHeldOut(randomExample(rng).date)).toBe(false);
    for (const e of makeExamples(300, 11, true)) expect(isHeldOut(e.date)).toBe(true);
    // one day in ten is held out (day number since 1970-01-01 divisible by 10): 2026-11-23 is day 20 780
    expect(isHeldOut({ year: 2026, month: 11, day: 25 })).toBe(false);
    expect(isHeldOut({ year: 2026, month: 11, day: 28 })).toBe(false);
    expect(isHeldOut({ year: 2026, month: 11, day: 23 })).toBe(true);
  });

  it('encodes text to fixed-length ids and back', () => {
    const ids = encodeInput('Nov 5, 2026');
    expect(ids).toHaveLength(INPUT_LENGTH);
    expect(ids.slice(11)).toEqual(new Array(INPUT_LENGTH - 11).fill(PAD));
    expect(encodeInput('5 #ov 2026')[2]).toBe(UNK); // '#' is in no format
    expect(decodeOutput(encodeOutput('2026-11-25'))).toBe('2026-11-25');
  });
});
