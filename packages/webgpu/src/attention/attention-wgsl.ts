// WGSL shared by every attention kernel: the problem's dynamic sizes (one uniform buffer), where a row of
// q, k, v (and out, dOut, dq, dk, dv) lives in either layout, which keys a query row may see, and the score.
// Shape letters: n slices (batch·heads), Lq queries, Lk keys, d query/key features, dv value features,
// H query heads per batch element (slice s is head s mod H of batch element ⌊s / H⌋).

/** Words of the uniform block `Problem` (all 4-byte fields), a multiple of 4 so its size is a multiple of 16 bytes. */
export const PROBLEM_WORDS = 32;

/** Bits of `Problem.flags`: which rules and variants the problem has. */
export const ProblemFlag = {
  causal: 1,
  window: 2,
  attentionMask: 4,
  alibi: 8,
  positionBias: 16,
  softcap: 32,
  sinks: 64,
  segments: 128,
} as const;

/** Field names of `Problem` in order (word i of the uniform buffer), with the WGSL type of each. */
export const PROBLEM_FIELDS = [
  ['n', 'u32'],
  ['queryLength', 'u32'],
  ['keyLength', 'u32'],
  ['groupSize', 'u32'],
  ['queryHeads', 'u32'], // slices interleaved per row of q and out: H for 'sequence-first', else 1
  ['keyHeads', 'u32'], // the same for k and v: H / groupSize, else 1
  ['heads', 'u32'], // H, for the per-head and per-batch variants
  ['flags', 'u32'],
  ['scale', 'f32'],
  ['causalOffset', 'i32'],
  ['windowStart', 'i32'],
  ['maskSlice', 'u32'],
  ['maskQuery', 'u32'],
  ['maskKey', 'u32'],
  ['tiles', 'u32'], // tiles (of queries or keys) per slice: the workgroup grid's inner size
  ['rowCount', 'u32'], // R, the chosen rows of the weights kernels
  ['softcap', 'f32'],
  ['queryPositionOffset', 'i32'],
  ['alibiAt', 'u32'], // offsets of the variant parameters (and scratch) in the `extras` words
  ['positionBiasAt', 'u32'],
  ['sinksAt', 'u32'],
  ['querySegmentsAt', 'u32'],
  ['keySegmentsAt', 'u32'],
  ['statsAt', 'u32'],
  ['rowsAt', 'u32'],
  ['workgroups', 'u32'], // workgroups that have work (the grid may have a few more)
  ['minusInfinity', 'f32'], // −∞, from the host: WGSL has no infinite constants
  ['threads', 'u32'], // invocations of the per-row and per-entry kernels (the grid has a few more)
  ['headDim', 'u32'], // d and dv again, as loop bounds the shader compiler does not unroll (see attention-forward-wgsl.ts)
  ['valueDim', 'u32'],
] as const;

export type ProblemField = (typeof PROBLEM_FIELDS)[number][0];

const flagConstants = Object.entries(ProblemFlag)
  .map(([name, bit]) => `const FLAG_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()} = ${bit}u;`)
  .join('\n');

const problemStruct = `struct Problem {
${PROBLEM_FIELDS.map(([name, type]) => `  ${name}: ${type},`).join('\n')}
${Array.from({ length: PROBLEM_WORDS - PROBLEM_FIELDS.length }, (_, i) => `  pad${i}: u32,`).join('\n')}
}`;

/**
 * The WGSL every attention kernel starts with: the uniform block at binding 0, the flags, and the helpers
 * below. The kernel declares `attentionMask: array<f32>` and `extras: array<u32>` (the variant parameters
 * as words: f32 values bitcast, segment ids as i32, the backward's row statistics).
 */
export const attentionCommonWgsl = `${problemStruct}
@group(0) @binding(0) var<uniform> problem: Problem;

${flagConstants}
/** Below every score: the running max before any key was seen. */
const LOWEST = -3.0e38;
/** A score slot of a key that is not kept (below LOWEST: no kept score is). */
const MASKED = -3.3e38;

fn has(flag: u32) -> bool { return (problem.flags & flag) != 0u; }

/** The index of the first workgroup-grid cell of a 2D grid, linearised (a grid side is at most 65535). */
fn linearGroup(group: vec3u, groups: vec3u) -> u32 { return group.x + group.y * groups.x; }

/** Row of query i of a slice in q, out, dOut, dq (multiply by the row width): [n, Lq] or [B, Lq, H]. */
fn queryRowOf(slice: u32, i: u32) -> u32 {
  let H = problem.queryHeads;
  return ((slice / H) * problem.queryLength + i) * H + slice % H;
}

/** Row of key j of a k/v slice in k, v, dk, dv: [nKv, Lk] or [B, Lk, H / groupSize]. */
fn keyRowOf(kvSlice: u32, j: u32) -> u32 {
  let H = problem.keyHeads;
  return ((kvSlice / H) * problem.keyLength + j) * H + kvSlice % H;
}

/** Keys [x, y) query row i may see by causality and the window (the index rules). */
fn keyRange(i: u32) -> vec2u {
  let keyLength = i32(problem.keyLength);
  var end = keyLength;
  if (has(FLAG_CAUSAL)) { end = clamp(i32(i) + problem.causalOffset + 1, 0, keyLength); }
  var first = 0;
  if (has(FLAG_WINDOW)) { first = clamp(i32(i) + problem.windowStart, 0, end); }
  return vec2u(u32(first), u32(end));
}

/** Query rows [x, y) that may see some key of [j0, j1) by the index rules (a superset: rows are checked one by one). */
fn queryRange(j0: u32, j1: u32) -> vec2u {
  let queryLength = i32(problem.queryLength);
  var first = 0;
  if (has(FLAG_CAUSAL)) { first = clamp(i32(j0) - problem.causalOffset, 0, queryLength); }
  var end = queryLength;
  if (has(FLAG_WINDOW)) { end = clamp(i32(j1) - problem.windowStart, first, queryLength); }
  return vec2u(u32(first), u32(end));
}

fn word(at: u32) -> f32 { return bitcast<f32>(extras[at]); }

/** Whether key j may be attended by query i of a slice beyond the index rules: the attention mask and the segments. */
fn keyKept(slice: u32, i: u32, j: u32) -> bool {
  if (has(FLAG_ATTENTION_MASK) && attentionMask[slice * problem.maskSlice + i * problem.maskQuery + j * problem.maskKey] == 0.0) {
    return false;
  }
  if (has(FLAG_SEGMENTS)) {
    let b = slice / problem.heads;
    let querySegment = extras[problem.querySegmentsAt + b * problem.queryLength + i];
    if (querySegment != extras[problem.keySegmentsAt + b * problem.keyLength + j]) { return false; }
  }
  return true;
}

/** tanh without overflow: e^(−2|x|) ≤ 1. */
fn stableTanh(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

/** The score of query i and key j from q_i·k_j: scale, ALiBi, the position bias, the soft-cap. */
fn scoreOf(slice: u32, i: u32, j: u32, qk: f32) -> f32 {
  var x = problem.scale * qk;
  let h = slice % problem.heads;
  if (has(FLAG_ALIBI)) { x += word(problem.alibiAt + h) * f32(i32(j) - i32(i) - problem.queryPositionOffset); }
  if (has(FLAG_POSITION_BIAS)) {
    x += word(problem.positionBiasAt + h * (problem.queryLength + problem.keyLength - 1u) + j + problem.queryLength - 1u - i);
  }
  if (has(FLAG_SOFTCAP)) { x = problem.softcap * stableTanh(x / problem.softcap); }
  return x;
}

/** ∂s/∂x of the soft-cap at a capped score s: 1 − (s / c)² (1 without a cap). */
fn capSlope(s: f32) -> f32 {
  if (!has(FLAG_SOFTCAP)) { return 1.0; }
  let t = s / problem.softcap;
  return 1.0 - t * t;
}

/** The sink logit of a slice's head (with the sinks variant). */
fn sinkOf(slice: u32) -> f32 { return word(problem.sinksAt + slice % problem.heads); }

fn isMinusInfinity(x: f32) -> bool { return bitcast<u32>(x) == 0xff800000u; }
fn isPlusInfinity(x: f32) -> bool { return bitcast<u32>(x) == 0x7f800000u; }

/**
 * e^(s − m), the weight of score s against a row's max m before normalising. Scores past float32's range are
 * ±∞ (q·k overflowed): −∞ weighs 0, and a row whose max is +∞ is uniform over its +∞ scores (softmax's limit).
 */
fn weightOf(s: f32, m: f32) -> f32 {
  if (isPlusInfinity(m)) { return select(0.0, 1.0, isPlusInfinity(s)); }
  if (isMinusInfinity(s)) { return 0.0; }
  return exp(s - m);
}
`;
