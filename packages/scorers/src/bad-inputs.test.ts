import {
  ArgumentError,
  ConfigError,
  type HeedError,
  randn,
  Rng,
  ShapeError,
  type Tensor,
  useJsKernels,
  useWasmKernels,
} from '@heed/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { expectHeedError } from '@heed/tensor/testing';
import { AdditiveScorer } from './additive';
import { ConcatScorer } from './concat';
import { CosineScorer } from './cosine';
import { DotScorer } from './dot';
import { GeneralScorer } from './general';
import { createScorer, listScorers, registerScorer } from './registry';
import { ScaledDotScorer } from './scaled-dot';
import type { Scorer } from './scorer';

// Every public entry point of @heed/scorers given what a hurried user passes. Each row must end in the
// named HeedError subclass with the call's own name as `op` and the argument at fault (and shapes
// where shapes are the issue) — never a TypeError from deep inside — on every kernel set.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;
const bad = (x: unknown): Loose => x;
const t = (shape: number[]): Tensor => randn(shape, new Rng(0));
const nested = [
  [
    [1, 2],
    [3, 4],
  ],
];

interface Row {
  call: () => unknown;
  error: abstract new (...args: never[]) => HeedError;
  op: string;
  argument: string;
  shapes?: Record<string, readonly number[]>;
}

const scorers: [string, () => Scorer][] = [
  ['dot', () => new DotScorer()],
  ['scaled-dot', () => new ScaledDotScorer()],
  ['general', () => new GeneralScorer({ queryDim: 2, keyDim: 2, rng: new Rng(0) })],
  ['concat', () => new ConcatScorer({ queryDim: 2, keyDim: 2, hiddenDim: 3, rng: new Rng(0) })],
  ['additive', () => new AdditiveScorer({ queryDim: 2, keyDim: 2, hiddenDim: 3, rng: new Rng(0) })],
  ['cosine', () => new CosineScorer()],
];

const rows: Record<string, Row> = {
  'createScorer(null)': { call: () => createScorer(bad(null)), error: ConfigError, op: 'createScorer', argument: 'spec' },
  'createScorer(undefined)': { call: () => createScorer(bad(undefined)), error: ConfigError, op: 'createScorer', argument: 'spec' },
  'createScorer(42)': { call: () => createScorer(bad(42)), error: ConfigError, op: 'createScorer', argument: 'spec' },
  "createScorer(['dot'])": { call: () => createScorer(bad(['dot'])), error: ConfigError, op: 'createScorer', argument: 'spec' },
  'createScorer({})': { call: () => createScorer(bad({})), error: ConfigError, op: 'createScorer', argument: 'kind' },
  "createScorer({ kind: 'nope' })": {
    call: () => createScorer({ kind: 'nope' }),
    error: ConfigError,
    op: 'createScorer',
    argument: 'kind',
  },
  "createScorer({ kind: 'general' }) without dims": {
    call: () => createScorer({ kind: 'general' }),
    error: ConfigError,
    op: 'GeneralScorer',
    argument: 'queryDim',
  },
  "createScorer({ kind: 'scaled-dot', scale: -1 })": {
    call: () => createScorer({ kind: 'scaled-dot', scale: -1 }),
    error: ConfigError,
    op: 'ScaledDotScorer',
    argument: 'scale',
  },
  "registerScorer('', f)": {
    call: () => registerScorer('', () => new DotScorer()),
    error: ArgumentError,
    op: 'registerScorer',
    argument: 'kind',
  },
  "registerScorer('x', null)": {
    call: () => registerScorer('x', bad(null)),
    error: ArgumentError,
    op: 'registerScorer',
    argument: 'factory',
  },
  "registerScorer('dot', f) again": {
    call: () => registerScorer('dot', () => new DotScorer()),
    error: ConfigError,
    op: 'registerScorer',
    argument: 'kind',
  },
  'new GeneralScorer() without options': {
    call: () => new GeneralScorer(bad(undefined)),
    error: ConfigError,
    op: 'GeneralScorer',
    argument: 'options',
  },
  'new GeneralScorer(null)': { call: () => new GeneralScorer(bad(null)), error: ConfigError, op: 'GeneralScorer', argument: 'options' },
  'new GeneralScorer({ queryDim: 2.5 })': {
    call: () => new GeneralScorer({ queryDim: 2.5 }),
    error: ConfigError,
    op: 'GeneralScorer',
    argument: 'queryDim',
  },
  'new ConcatScorer() without options': {
    call: () => new ConcatScorer(bad(undefined)),
    error: ConfigError,
    op: 'ConcatScorer',
    argument: 'options',
  },
  "new ConcatScorer({ queryDim: '4' })": {
    call: () => new ConcatScorer(bad({ queryDim: '4' })),
    error: ConfigError,
    op: 'ConcatScorer',
    argument: 'queryDim',
  },
  'new AdditiveScorer() without options': {
    call: () => new AdditiveScorer(bad(undefined)),
    error: ConfigError,
    op: 'AdditiveScorer',
    argument: 'options',
  },
  'new AdditiveScorer({ queryDim: 0 })': {
    call: () => new AdditiveScorer({ queryDim: 0 }),
    error: ConfigError,
    op: 'AdditiveScorer',
    argument: 'queryDim',
  },
  'new ScaledDotScorer(null)': {
    call: () => new ScaledDotScorer(bad(null)),
    error: ConfigError,
    op: 'ScaledDotScorer',
    argument: 'options',
  },
  'new ScaledDotScorer({ scale: NaN })': {
    call: () => new ScaledDotScorer({ scale: NaN }),
    error: ConfigError,
    op: 'ScaledDotScorer',
    argument: 'scale',
  },
  "new CosineScorer('x')": { call: () => new CosineScorer(bad('x')), error: ConfigError, op: 'CosineScorer', argument: 'options' },
  'new CosineScorer({ temperature: 0 })': {
    call: () => new CosineScorer({ temperature: 0 }),
    error: ConfigError,
    op: 'CosineScorer',
    argument: 'temperature',
  },
  'new CosineScorer({ eps: -1 })': { call: () => new CosineScorer({ eps: -1 }), error: ConfigError, op: 'CosineScorer', argument: 'eps' },
  // options of the wrong type
  'new GeneralScorer rng 5': {
    call: () => new GeneralScorer({ queryDim: 2, keyDim: 2, rng: bad(5) }),
    error: ConfigError,
    op: 'GeneralScorer',
    argument: 'rng',
  },
  'new AdditiveScorer rng 5': {
    call: () => new AdditiveScorer({ queryDim: 2, keyDim: 2, hiddenDim: 2, rng: bad(5) }),
    error: ConfigError,
    op: 'AdditiveScorer',
    argument: 'rng',
  },
  'new ConcatScorer rng {}': {
    call: () => new ConcatScorer({ queryDim: 2, keyDim: 2, hiddenDim: 2, rng: bad({}) }),
    error: ConfigError,
    op: 'ConcatScorer',
    argument: 'rng',
  },
};
for (const [kind, make] of scorers) {
  const op = `${kind}.score`;
  rows[`${kind}: score(nested, keys)`] = {
    call: () => make().score(bad(nested), t([1, 3, 2])),
    error: ArgumentError,
    op,
    argument: 'query',
  };
  rows[`${kind}: score(query, null)`] = { call: () => make().score(t([1, 2, 2]), bad(null)), error: ArgumentError, op, argument: 'keys' };
  rows[`${kind}: score(query, Float32Array)`] = {
    call: () => make().score(t([1, 2, 2]), bad(new Float32Array(6))),
    error: ArgumentError,
    op,
    argument: 'keys',
  };
  rows[`${kind}: rank-1 query`] = {
    call: () => make().score(t([2]), t([1, 3, 2])),
    error: ShapeError,
    op,
    argument: 'query',
    shapes: { query: [2], keys: [1, 3, 2] },
  };
  rows[`${kind}: batches 1 and 2`] = {
    call: () => make().score(t([1, 2, 2]), t([2, 3, 2])),
    error: ShapeError,
    op,
    argument: 'keys',
    shapes: { query: [1, 2, 2], keys: [2, 3, 2] },
  };
  rows[`${kind}: dk 5 for a dk-2 scorer`] = {
    call: () => make().score(t([1, 2, 2]), t([1, 3, 5])),
    error: ShapeError,
    op,
    argument: 'keys',
    shapes: { query: [1, 2, 2], keys: [1, 3, 5] },
  };
}

const kernelSets = [
  ['JS', () => useJsKernels()],
  ['WASM', async () => expect(await useWasmKernels({ relaxedSimd: false })).toEqual({ simd: 'plain', threads: 1 })],
] as const;

afterAll(() => {
  useJsKernels();
});

describe.each(kernelSets)('@heed/scorers bad inputs end in a HeedError naming the call (%s kernels)', (_name, install) => {
  it.each(Object.entries(rows))('%s', async (_label, row) => {
    await install();
    const before = listScorers();
    // the class, op, argument (and shapes where given), checked by the shared helper
    const error = expectHeedError(row.call, row.error, { op: row.op, argument: row.argument, shapes: row.shapes });
    expect(error.message.startsWith(`${row.op}: `)).toBe(true);
    expect(listScorers()).toEqual(before); // a refused call registers nothing
  });
});
