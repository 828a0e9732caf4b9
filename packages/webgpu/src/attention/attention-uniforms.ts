import type { AttentionProblem } from '@heed/tensor';
import { PROBLEM_FIELDS, PROBLEM_WORDS, type ProblemField, ProblemFlag } from './attention-wgsl';

// The host side of the uniform block `Problem` and of the `extras` words (see attention-wgsl.ts).
// Shape letters: n slices, Lq queries, Lk keys, H query heads per batch element, B = n / H, R chosen rows.

/** The packed uniform block and extras of one call. */
export interface PackedProblem {
  /** The `Problem` uniform block: PROBLEM_WORDS words. */
  uniforms: ArrayBuffer;
  /** The `extras` words: variant parameters, then `scratchWords` words the kernels write (at `scratchAt`). */
  extras: Uint32Array;
  /** Where the scratch words start in `extras`. */
  scratchAt: number;
  flags: number;
  /** Where (in words of `extras`) the learned variant parameters lie, and their lengths: a caller may overwrite them on the GPU. */
  variantsAt: { positionBias?: { at: number; length: number }; sinks?: { at: number; length: number } };
}

/** Extra per-call values of the uniform block: the grid and kernel-specific fields. */
export type ProblemOverrides = Partial<Record<ProblemField, number>>;

/** The index rules and variants of a problem as flags, ints clamped so that i + offset never overflows an i32. */
export function packProblem(
  problem: AttentionProblem,
  rows: Int32Array | null,
  scratchWords: number,
  maskOnDevice: boolean,
): PackedProblem {
  const { n, queryLength: Lq, keyLength: Lk, groupSize } = problem;
  const H = problem.heads ?? 1;
  const sequenceFirst = problem.layout === 'sequence-first';
  let flags = 0;
  const words: number[] = [];
  const variantsAt: PackedProblem['variantsAt'] = {};
  const values: Record<string, number> = {
    n,
    queryLength: Lq,
    keyLength: Lk,
    groupSize,
    queryHeads: sequenceFirst ? H : 1,
    keyHeads: sequenceFirst ? H / groupSize : 1,
    heads: H,
    scale: problem.scale,
    headDim: problem.headDim,
    valueDim: problem.valueDim,
    minusInfinity: Number.NEGATIVE_INFINITY,
  };
  if (problem.causalOffset !== null) {
    flags |= ProblemFlag.causal;
    values.causalOffset = clampInt(Math.floor(problem.causalOffset), -Lq - 1, Lk + 1); // j ≤ i + offset: all or none past these
  }
  if (problem.windowStart !== undefined && problem.windowStart !== null) {
    flags |= ProblemFlag.window;
    values.windowStart = clampInt(Math.ceil(problem.windowStart), -Lq - 1, Lk + 1); // j ≥ i + start
  }
  if (problem.attentionMask !== null || maskOnDevice) flags |= ProblemFlag.attentionMask;
  const [maskSlice, maskQuery, maskKey] = problem.attentionMaskStrides;
  Object.assign(values, { maskSlice, maskQuery, maskKey });
  const section = (field: ProblemField, data: ArrayLike<number>, asInt: boolean): void => {
    values[field] = words.length;
    const view = asInt ? new Int32Array(data.length) : new Float32Array(data.length);
    view.set(data as ArrayLike<number>);
    for (const w of new Uint32Array(view.buffer)) words.push(w);
  };
  if (problem.alibiSlopes) {
    flags |= ProblemFlag.alibi;
    section('alibiAt', problem.alibiSlopes, false); // [H]
    values.queryPositionOffset = problem.queryPositionOffset ?? 0;
  }
  if (problem.positionBias) {
    flags |= ProblemFlag.positionBias;
    variantsAt.positionBias = { at: words.length, length: problem.positionBias.length };
    section('positionBiasAt', problem.positionBias, false); // [H, Lq + Lk − 1]
  }
  if (problem.softcap !== undefined && problem.softcap !== null) {
    flags |= ProblemFlag.softcap;
    values.softcap = problem.softcap;
  }
  if (problem.sinks) {
    flags |= ProblemFlag.sinks;
    variantsAt.sinks = { at: words.length, length: problem.sinks.length };
    section('sinksAt', problem.sinks, false); // [H]
  }
  if (problem.querySegments && problem.keySegments) {
    flags |= ProblemFlag.segments;
    section('querySegmentsAt', problem.querySegments, true); // [B, Lq]
    section('keySegmentsAt', problem.keySegments, true); // [B, Lk]
  }
  if (rows !== null) section('rowsAt', rows, true); // [R]
  values.rowCount = rows?.length ?? 0;
  values.flags = flags;
  const scratchAt = words.length;
  values.statsAt = scratchAt;
  const extras = new Uint32Array(Math.max(1, scratchAt + scratchWords));
  extras.set(words);
  return { uniforms: uniformsOf(values), extras, scratchAt, flags, variantsAt };
}

/** The uniform block with `overrides` applied to a packed one (a new buffer). */
export function withOverrides(uniforms: ArrayBuffer, overrides: ProblemOverrides): ArrayBuffer {
  const copy = uniforms.slice(0);
  writeFields(new DataView(copy), overrides);
  return copy;
}

function uniformsOf(values: Record<string, number>): ArrayBuffer {
  const buffer = new ArrayBuffer(PROBLEM_WORDS * 4);
  writeFields(new DataView(buffer), values);
  return buffer;
}

function writeFields(view: DataView, values: Record<string, number | undefined>): void {
  PROBLEM_FIELDS.forEach(([name, type], index) => {
    const value = values[name];
    if (value === undefined) return;
    if (type === 'f32') view.setFloat32(index * 4, value, true);
    else if (type === 'i32') view.setInt32(index * 4, value, true);
    else view.setUint32(index * 4, value, true);
  });
}

function clampInt(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
