import { Rng } from '@heed/tensor';

// The date-rewriting task: "25 November 2026", "11/25/26", "Nov 25, 2026" -> "2026-11-25".
// Everything is generated from a seeded Rng; nothing is downloaded.

export const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

/** The input formats, each with an example. */
export const DATE_FORMATS = ['long', 'numeric', 'short'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];
export const FORMAT_EXAMPLES: Record<DateFormat, string> = { long: '25 November 2026', numeric: '11/25/26', short: 'Nov 25, 2026' };

/** Input sequences are padded (or cut) to this many characters. */
export const INPUT_LENGTH = 20;
/** Output is always "YYYY-MM-DD". */
export const OUTPUT_LENGTH = 10;

/** Input vocabulary: 0 = padding, 1 = unknown character, then every character the formats use. */
export const PAD = 0;
export const UNK = 1;
const INPUT_CHARS = [...new Set([...' ,/0123456789', ...MONTH_NAMES.join('')])].sort();
export const INPUT_VOCAB: readonly string[] = ['<pad>', '<unk>', ...INPUT_CHARS];
const inputIndex = new Map(INPUT_VOCAB.map((c, i) => [c, i]));

/** Output vocabulary: the ten digits and '-'; index OUTPUT_VOCAB.length is the start token fed before the first output. */
export const OUTPUT_VOCAB: readonly string[] = [...'0123456789-'];
export const START = OUTPUT_VOCAB.length;
const outputIndex = new Map(OUTPUT_VOCAB.map((c, i) => [c, i]));

/** A calendar date. */
export interface CalendarDate {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
}

/** One example: the input text, the target text, and which input positions carry each output character. */
export interface DateExample {
  date: CalendarDate;
  format: DateFormat;
  input: string;
  target: string;
  /** carriers[t] = input positions that hold the information of output character t (empty for '-' and implied digits). */
  carriers: number[][];
}

const FIRST_YEAR = 1900;
const LAST_YEAR = 2099;
const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(FIRST_YEAR, 0, 1) / DAY_MS;
const LAST_DAY = Date.UTC(LAST_YEAR, 11, 31) / DAY_MS;
const FIRST_DAY_2000 = Date.UTC(2000, 0, 1) / DAY_MS;

/** Held-out dates (one day in ten, by day number) never appear in training batches. */
export function isHeldOut(date: CalendarDate): boolean {
  return dayNumber(date) % 10 === 0;
}

function dayNumber(date: CalendarDate): number {
  return Date.UTC(date.year, date.month - 1, date.day) / DAY_MS;
}

function fromDayNumber(n: number): CalendarDate {
  const d = new Date(n * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** "YYYY-MM-DD" */
export function isoDate(date: CalendarDate): string {
  return `${date.year}-${pad2(date.month)}-${pad2(date.day)}`;
}

/** Writes `date` in `format`, with the input positions carrying each output character. */
export function formatDate(date: CalendarDate, format: DateFormat): DateExample {
  const { year, month, day } = date;
  const monthName = MONTH_NAMES[month - 1]!;
  const dayText = String(day);
  const range = (start: number, length: number): number[] => Array.from({ length }, (_, i) => start + i);
  let input: string;
  let yearAt: (number[] | [])[]; // carriers of the four year digits
  let monthAt: number[][]; // of the two month digits
  let dayAt: number[][]; // of the two day digits
  const dayCarriers = (start: number): number[][] => (dayText.length === 2 ? [[start], [start + 1]] : [[], [start]]);
  if (format === 'long') {
    // "25 November 2026": day, month name, year
    input = `${dayText} ${monthName} ${year}`;
    const monthStart = dayText.length + 1;
    const yearStart = monthStart + monthName.length + 1;
    dayAt = dayCarriers(0);
    monthAt = [range(monthStart, monthName.length), range(monthStart, monthName.length)];
    yearAt = range(yearStart, 4).map((p) => [p]);
  } else if (format === 'numeric') {
    // "11/25/26": MM/DD/YY, years 2000-2099 (the century is implied)
    if (year < 2000) throw new RangeError(`numeric format needs a year in 2000-2099, got ${year}`);
    input = `${pad2(month)}/${pad2(day)}/${pad2(year % 100)}`;
    monthAt = [[0], [1]];
    dayAt = [[3], [4]];
    yearAt = [[], [], [6], [7]];
  } else {
    // "Nov 25, 2026": abbreviated month, day, year
    input = `${monthName.slice(0, 3)} ${dayText}, ${year}`;
    monthAt = [range(0, 3), range(0, 3)];
    dayAt = dayCarriers(4);
    yearAt = range(4 + dayText.length + 2, 4).map((p) => [p]);
  }
  const carriers = [...yearAt, [], ...monthAt, [], ...dayAt];
  return { date, format, input, target: isoDate(date), carriers };
}

/** A uniformly random date allowed in `format`, held-out or not as asked. */
export function randomDate(rng: Rng, format: DateFormat, heldOut: boolean): CalendarDate {
  const first = format === 'numeric' ? FIRST_DAY_2000 : FIRST_DAY;
  for (;;) {
    const date = fromDayNumber(first + rng.int(LAST_DAY - first + 1));
    if (isHeldOut(date) === heldOut) return date;
  }
}

/** A random example: format uniform over DATE_FORMATS, date uniform in its range. */
export function randomExample(rng: Rng, heldOut = false): DateExample {
  const format = DATE_FORMATS[rng.int(DATE_FORMATS.length)]!;
  return formatDate(randomDate(rng, format, heldOut), format);
}

/** `count` examples from a generator seeded with `seed`. */
export function makeExamples(count: number, seed: number, heldOut = false): DateExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => randomExample(rng, heldOut));
}

/** Input text -> INPUT_LENGTH ids (padded with PAD, cut if longer, unknown characters -> UNK). */
export function encodeInput(text: string): number[] {
  const ids = new Array<number>(INPUT_LENGTH).fill(PAD);
  [...text.slice(0, INPUT_LENGTH)].forEach((c, i) => (ids[i] = inputIndex.get(c) ?? UNK));
  return ids;
}

/** "YYYY-MM-DD" -> OUTPUT_LENGTH ids. */
export function encodeOutput(text: string): number[] {
  if (text.length !== OUTPUT_LENGTH) throw new RangeError(`output must have ${OUTPUT_LENGTH} characters, got '${text}'`);
  return [...text].map((c) => {
    const id = outputIndex.get(c);
    if (id === undefined) throw new RangeError(`'${c}' is not an output character`);
    return id;
  });
}

/** Output ids -> text. */
export function decodeOutput(ids: ArrayLike<number>): string {
  return Array.from(ids, (i) => OUTPUT_VOCAB[i] ?? '?').join('');
}

/**
 * The ISO form of a date written in one of the formats, or null if `text` is not one
 * (used by the page to mark the model's answer right or wrong).
 */
export function parseDateText(text: string): string | null {
  const monthOf = (name: string): number => MONTH_NAMES.findIndex((m) => m === name || m.slice(0, 3) === name) + 1;
  let m = /^(\d{1,2}) ([A-Z][a-z]+) (\d{4})$/.exec(text);
  let date: CalendarDate | null = null;
  if (m) date = { day: Number(m[1]), month: monthOf(m[2]!), year: Number(m[3]) };
  else if ((m = /^(\d\d)\/(\d\d)\/(\d\d)$/.exec(text))) date = { month: Number(m[1]), day: Number(m[2]), year: 2000 + Number(m[3]) };
  else if ((m = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4})$/.exec(text))) date = { month: monthOf(m[1]!), day: Number(m[2]), year: Number(m[3]) };
  if (!date || date.month < 1) return null;
  const check = new Date(Date.UTC(date.year, date.month - 1, date.day));
  if (check.getUTCFullYear() !== date.year || check.getUTCMonth() !== date.month - 1 || check.getUTCDate() !== date.day) return null;
  return isoDate(date);
}
