import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeExamples } from './data';
import { DateTrainer, fromModelFile, predict, toModelFile, type ModelFile } from './train';
import type { DateModel } from './model';

// The expected outputs and the characters that carry each output digit are worked out here, from the
// input text alone (regular expressions and a month table), not from the code under test.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface Parsed {
  iso: string;
  /** carriers[t]: input positions holding output character t of "YYYY-MM-DD" (none for '-' and implied digits). */
  carriers: number[][];
}

function parse(input: string): Parsed {
  const span = (start: number, length: number): number[] => Array.from({ length }, (_, i) => start + i);
  const twoDigits = (text: string, start: number): [string, number[][]] =>
    text.length === 2 ? [text, [[start], [start + 1]]] : [`0${text}`, [[], [start]]];
  let m = /^(\d{1,2}) ([A-Z][a-z]+) (\d{4})$/.exec(input); // "25 November 2026"
  if (m) {
    const [, day, name, year] = m as unknown as [string, string, string, string];
    const [dd, dayAt] = twoDigits(day, 0);
    const month = String(MONTHS.indexOf(name.slice(0, 3)) + 1).padStart(2, '0');
    const nameAt = span(day.length + 1, name.length);
    const yearAt = span(day.length + name.length + 2, 4).map((p) => [p]);
    return { iso: `${year}-${month}-${dd}`, carriers: [...yearAt, [], nameAt, nameAt, [], ...dayAt] };
  }
  m = /^(\d\d)\/(\d\d)\/(\d\d)$/.exec(input); // "11/25/26", years 2000-2099
  if (m) {
    const [, month, day, year] = m as unknown as [string, string, string, string];
    return { iso: `20${year}-${month}-${day}`, carriers: [[], [], [6], [7], [], [0], [1], [], [3], [4]] };
  }
  m = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4})$/.exec(input); // "Nov 25, 2026"
  if (m) {
    const [, name, day, year] = m as unknown as [string, string, string, string];
    const [dd, dayAt] = twoDigits(day, 4);
    const month = String(MONTHS.indexOf(name) + 1).padStart(2, '0');
    const yearAt = span(4 + day.length + 2, 4).map((p) => [p]);
    return { iso: `${year}-${month}-${dd}`, carriers: [...yearAt, [], span(0, 3), span(0, 3), [], ...dayAt] };
  }
  throw new Error(`unexpected input '${input}'`);
}

const heldOut = makeExamples(200, 2024, true).map((e) => e.input);
const expected = heldOut.map(parse);

/** Fraction of held-out inputs whose greedy output is exactly right. */
function accuracy(model: DateModel): number {
  const { outputs } = predict(model, heldOut);
  return outputs.filter((out, i) => out === expected[i]!.iso).length / heldOut.length;
}

/** Over the output digits that have carriers: how often the attention's argmax is on one, and the mean weight on them. */
function alignment(model: DateModel): { argmax: number; mass: number; rows: number } {
  const { weights } = predict(model, heldOut); // [N, 10, L]
  const [, T, L] = weights.shape as [number, number, number];
  let argmax = 0;
  let mass = 0;
  let rows = 0;
  expected.forEach(({ carriers }, b) => {
    carriers.forEach((positions, t) => {
      if (positions.length === 0) return;
      const row = Array.from(weights.data.subarray((b * T + t) * L, (b * T + t + 1) * L));
      const best = row.indexOf(Math.max(...row));
      if (positions.includes(best)) argmax++;
      mass += positions.reduce((s, p) => s + row[p]!, 0);
      rows++;
    });
  });
  return { argmax: argmax / rows, mass: mass / rows, rows };
}

describe('date model training', () => {
  it('parses its own held-out set (sanity check of the test helpers)', () => {
    expect(parse('25 November 2026')).toEqual({
      iso: '2026-11-25',
      carriers: [[12], [13], [14], [15], [], [3, 4, 5, 6, 7, 8, 9, 10], [3, 4, 5, 6, 7, 8, 9, 10], [], [0], [1]],
    });
    expect(parse('11/25/26').iso).toBe('2026-11-25');
    expect(parse('Nov 5, 2026')).toEqual({ iso: '2026-11-05', carriers: [[7], [8], [9], [10], [], [0, 1, 2], [0, 1, 2], [], [], [4]] });
  });

  // Steps are chosen to keep this test fast; `scripts/train-dates.mjs` trains longer for the shipped models.
  it.each([
    { scorer: 'scaled-dot', steps: 150 },
    { scorer: 'additive', steps: 200 },
  ])('$scorer: $steps steps from a fixed seed learn the task and align each digit with its input', ({ scorer, steps }) => {
    const trainer = new DateTrainer({ scorer, dim: 32, seed: 1, dataSeed: 2, batchSize: 32, lr: 0.01 });

    const untrained = accuracy(trainer.model);
    const untrainedAlignment = alignment(trainer.model);
    expect(untrained).toBeLessThanOrEqual(0.02); // 10 characters from 11 classes: guessing is hopeless

    const losses: number[] = [];
    for (let i = 0; i < steps; i++) losses.push(trainer.step());
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(losses.slice(-20))).toBeLessThan(0.2 * mean(losses.slice(0, 20)));

    const trained = accuracy(trainer.model);
    const learned = alignment(trainer.model);
    console.info(
      `${scorer}: held-out exact match ${untrained} untrained -> ${trained} after ${steps} steps; ` +
        `alignment argmax on carrier ${untrainedAlignment.argmax.toFixed(3)} -> ${learned.argmax.toFixed(3)}, ` +
        `weight on carriers ${untrainedAlignment.mass.toFixed(3)} -> ${learned.mass.toFixed(3)} (${learned.rows} digit rows)`,
    );
    expect(trained).toBeGreaterThanOrEqual(0.9);
    expect(trained - untrained).toBeGreaterThanOrEqual(0.85);
    // most weight of each output digit sits on the input characters that carry it
    expect(learned.argmax).toBeGreaterThanOrEqual(0.75);
    expect(learned.mass).toBeGreaterThanOrEqual(0.5);
    expect(learned.argmax - untrainedAlignment.argmax).toBeGreaterThanOrEqual(0.3);
  });

  it('a model file (weights rounded to 4 significant digits) decodes like the model it was saved from', () => {
    const trainer = new DateTrainer({ scorer: 'scaled-dot', seed: 3, dataSeed: 4 });
    for (let i = 0; i < 20; i++) trainer.step();
    const file = JSON.parse(JSON.stringify(toModelFile(trainer.model, trainer.steps))) as ModelFile;
    const loaded = fromModelFile(file);
    const a = predict(trainer.model, heldOut.slice(0, 50));
    const b = predict(loaded, heldOut.slice(0, 50));
    expect(b.outputs).toEqual(a.outputs);
    for (let i = 0; i < a.weights.size; i++) expect(b.weights.data[i]).toBeCloseTo(a.weights.data[i]!, 2);
  });

  it('stepAsync on the CPU takes the same steps as step, and readState copies the weights', async () => {
    const [a, b] = [new DateTrainer({ seed: 5, dataSeed: 6 }), new DateTrainer({ seed: 5, dataSeed: 6 })];
    for (let i = 0; i < 3; i++) expect(await b.stepAsync()).toBe(a.step());
    const state = await b.readState();
    const named = Object.fromEntries(a.model.namedParameters());
    expect(Object.keys(state)).toEqual(Object.keys(named));
    for (const [name, { shape, data }] of Object.entries(state)) {
      expect(shape).toEqual(named[name]!.shape);
      expect(Array.from(data)).toEqual(Array.from(named[name]!.data));
      expect(data).not.toBe(b.model.stateDict()[name]!.data); // a copy
    }
  });

  it.each(['additive', 'scaled-dot'])('the shipped model public/models/dates-%s.json rewrites held-out dates', (scorer) => {
    const file = JSON.parse(readFileSync(new URL(`../../public/models/dates-${scorer}.json`, import.meta.url), 'utf8')) as ModelFile;
    expect(file.config.scorer).toBe(scorer);
    const model = fromModelFile(file);
    expect(accuracy(model)).toBeGreaterThanOrEqual(0.97);
    expect(alignment(model).argmax).toBeGreaterThanOrEqual(0.8);
  });
});
