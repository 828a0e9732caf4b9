import { type AttentionShaderConfig, lengthOf } from './attention-forward-wgsl';
import { ROW_THREADS } from './attention-backward-wgsl';
import { attentionCommonWgsl } from './attention-wgsl';

// Exact attention weights of chosen query rows, rebuilt from the forward's log-sum-exp, and their gradient.
// Shape letters: n slices, R chosen rows (their query indices are the `extras` words at problem.rowsAt),
// Lq queries, Lk keys, d features. Weights and dWeights are [n, R, Lk].

const rowsAccess = `fn chosenRow(r: u32) -> u32 { return extras[problem.rowsAt + r]; }
`;

/**
 * One workgroup per (slice, chosen row r), its invocations striding over the keys:
 *   w_j = e^(s_j − logSumExp_i) where key j is allowed (0 elsewhere, and for a row with no allowed key),
 * then divided by the row's sum with the sink's share e^(sink − logSumExp) (1 up to the float32 rounding of logSumExp).
 * q [n, Lq, d], k [nKv, Lk, d], logSumExp [n, Lq] -> weights [n, R, Lk]
 */
export function attentionWeightsWgsl(config: AttentionShaderConfig): string {
  const { headDim: d } = config;
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(4) var<storage, read> logSumExp: array<f32>;
@group(0) @binding(5) var<storage, read> extras: array<u32>;
@group(0) @binding(6) var<storage, read_write> weights: array<f32>;
${rowsAccess}
const THREADS = ${ROW_THREADS}u;
var<workgroup> queryRow: array<f32, ${lengthOf(d)}>; // [d]
var<workgroup> sums: array<f32, ${ROW_THREADS}>;

@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let D = problem.headDim;
  let DV = problem.valueDim;
  let block = linearGroup(group, groups);
  if (block >= problem.workgroups) { return; }
  let keyLength = problem.keyLength;
  let slice = block / problem.rowCount;
  let i = chosenRow(block % problem.rowCount);
  let kvSlice = slice / problem.groupSize;
  let qRow = queryRowOf(slice, i) * D;
  for (var x = t; x < D; x += THREADS) { queryRow[x] = q[qRow + x]; }
  workgroupBarrier();
  let lse = logSumExp[slice * problem.queryLength + i];
  let keys = keyRange(i);
  let o = block * keyLength; // row (slice, r) of weights
  var partial = 0.0;
  for (var j = t; j < keyLength; j += THREADS) {
    var w = 0.0;
    if (!isMinusInfinity(lse) && j >= keys.x && j < keys.y && keyKept(slice, i, j)) {
      let kRow = keyRowOf(kvSlice, j) * D;
      var qk = 0.0;
      for (var x = 0u; x < D; x++) { qk += queryRow[x] * k[kRow + x]; }
      w = exp(scoreOf(slice, i, j, qk) - lse);
    }
    weights[o + j] = w;
    partial += w;
  }
  sums[t] = partial;
  workgroupBarrier();
  for (var half = THREADS / 2u; half > 0u; half /= 2u) {
    if (t < half) { sums[t] += sums[t + half]; }
    workgroupBarrier();
  }
  // Σ_j w_j (+ the sink's e^(sink − lse)) is 1 but for the float32 rounding of logSumExp: divide it out.
  var total = sums[0];
  if (has(FLAG_SINKS) && total > 0.0) { total += exp(sinkOf(slice) - lse); }
  let factor = select(0.0, 1.0 / total, total > 0.0);
  for (var j = t; j < keyLength; j += THREADS) { weights[o + j] *= factor; }
}
`;
}

/**
 * The weights' gradient, step 1: G·P and Σ_j P per chosen row (one invocation each), into the scratch words at
 * statsAt.  weights, dWeights [n, R, Lk] -> extras [n·R], [n·R]
 */
export function attentionWeightsRowDotWgsl(): string {
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(2) var<storage, read_write> extras: array<u32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> dWeights: array<f32>;

@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let D = problem.headDim;
  let DV = problem.valueDim;
  let row = linearGroup(group, groups) * ${ROW_THREADS}u + t;
  if (row >= problem.threads) { return; }
  let o = row * problem.keyLength;
  var total = 0.0;
  var kept = 0.0;
  for (var j = 0u; j < problem.keyLength; j++) {
    total += dWeights[o + j] * weights[o + j]; // G·P   [Lk] x [Lk] -> scalar
    kept += weights[o + j];
  }
  extras[problem.statsAt + row] = bitcast<u32>(total);
  extras[problem.statsAt + problem.threads + row] = bitcast<u32>(kept);
}
`;
}

/** dS of chosen row (slice, r) and key j: P ⊙ (G − G·P), through the soft-cap's slope (which needs the score). */
const dScoreOf = `fn dScoreOf(entry: u32, row: u32, slice: u32, i: u32, kvSlice: u32, j: u32) -> f32 {
  let D = problem.headDim;
  let p = weights[entry];
  if (p == 0.0) { return 0.0; }
  var ds = p * (dWeights[entry] - word(problem.statsAt + row));
  if (has(FLAG_SOFTCAP)) {
    let qRow = queryRowOf(slice, i) * D;
    let kRow = keyRowOf(kvSlice, j) * D;
    var qk = 0.0;
    for (var x = 0u; x < D; x++) { qk += q[qRow + x] * k[kRow + x]; }
    ds *= capSlope(scoreOf(slice, i, j, qk));
  }
  return ds;
}
`;

/**
 * The weights' gradient, step 2: dq[s, rows[r]] += scale · Σ_j dS_rj k_j, one invocation per (slice, r, feature).
 * A row chosen twice is summed by the invocation of its first occurrence, so no two invocations write one entry.
 * -> dq [n, Lq, d] (accumulated)
 */
export function attentionWeightsQueryGradientWgsl(): string {
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(4) var<storage, read> extras: array<u32>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;
@group(0) @binding(6) var<storage, read> dWeights: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
${rowsAccess}
${dScoreOf}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let D = problem.headDim;
  let DV = problem.valueDim;
  let index = linearGroup(group, groups) * ${ROW_THREADS}u + t;
  if (index >= problem.threads) { return; }
  let R = problem.rowCount;
  let x = index % D;
  let r = (index / D) % R;
  let slice = index / (D * R);
  let i = chosenRow(r);
  for (var earlier = 0u; earlier < r; earlier++) {
    if (chosenRow(earlier) == i) { return; }
  }
  let kvSlice = slice / problem.groupSize;
  var total = 0.0;
  for (var r2 = r; r2 < R; r2++) {
    if (chosenRow(r2) != i) { continue; }
    let row = slice * R + r2;
    for (var j = 0u; j < problem.keyLength; j++) {
      let ds = dScoreOf(row * problem.keyLength + j, row, slice, i, kvSlice, j);
      total += ds * k[keyRowOf(kvSlice, j) * D + x]; // [Lk] x [Lk, d] -> [d]
    }
  }
  dq[queryRowOf(slice, i) * D + x] += problem.scale * total;
}
`;
}

/**
 * The weights' gradient, step 3: dk[g, j] += scale · Σ over the group's slices and the chosen rows of dS_rj q_{rows[r]},
 * one invocation per (k/v slice, key, feature).  -> dk [nKv, Lk, d] (accumulated)
 */
export function attentionWeightsKeyGradientWgsl(): string {
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(4) var<storage, read> extras: array<u32>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;
@group(0) @binding(6) var<storage, read> dWeights: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
${rowsAccess}
${dScoreOf}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let D = problem.headDim;
  let DV = problem.valueDim;
  let index = linearGroup(group, groups) * ${ROW_THREADS}u + t;
  if (index >= problem.threads) { return; }
  let keyLength = problem.keyLength;
  let R = problem.rowCount;
  let x = index % D;
  let j = (index / D) % keyLength;
  let kvSlice = index / (D * keyLength);
  var total = 0.0;
  for (var member = 0u; member < problem.groupSize; member++) {
    let slice = kvSlice * problem.groupSize + member;
    for (var r = 0u; r < R; r++) {
      let i = chosenRow(r);
      let row = slice * R + r;
      let ds = dScoreOf(row * keyLength + j, row, slice, i, kvSlice, j);
      total += ds * q[queryRowOf(slice, i) * D + x]; // [R] x [R, d] -> [d]
    }
  }
  dk[keyRowOf(kvSlice, j) * D + x] += problem.scale * total;
}
`;
}

/**
 * The weights' gradient, variants: d positionBias[h, e] += Σ over the slices of head h and the chosen rows of dS on
 * the diagonal j − i = e − (Lq − 1), one invocation per (head, offset).  -> dPositionBias [H, Lq + Lk − 1] (accumulated)
 */
export function attentionWeightsPositionBiasGradientWgsl(): string {
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(4) var<storage, read> extras: array<u32>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;
@group(0) @binding(6) var<storage, read> dWeights: array<f32>;
@group(0) @binding(7) var<storage, read_write> dPositionBias: array<f32>;
${rowsAccess}
${dScoreOf}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let index = linearGroup(group, groups) * ${ROW_THREADS}u + t;
  if (index >= problem.threads) { return; }
  let keyLength = problem.keyLength;
  let diagonals = problem.queryLength + keyLength - 1u;
  let h = index / diagonals;
  let offset = i32(index % diagonals) - i32(problem.queryLength) + 1; // j − i
  let R = problem.rowCount;
  var total = 0.0;
  for (var slice = h; slice < problem.n; slice += problem.heads) {
    let kvSlice = slice / problem.groupSize;
    for (var r = 0u; r < R; r++) {
      let i = chosenRow(r);
      let j = i32(i) + offset;
      if (j < 0 || j >= i32(keyLength)) { continue; }
      let row = slice * R + r;
      total += dScoreOf(row * keyLength + u32(j), row, slice, i, kvSlice, u32(j));
    }
  }
  dPositionBias[index] += total;
}
`;
}

/**
 * The weights' gradient, variants: d sinks[h] −= Σ over the slices of head h and the chosen rows of (1 − Σ_j P) · G·P
 * (the sink's weight times its dS), one invocation per head.  -> dSinks [H] (accumulated)
 */
export function attentionWeightsSinksGradientWgsl(): string {
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(2) var<storage, read> extras: array<u32>;
@group(0) @binding(3) var<storage, read_write> dSinks: array<f32>;

@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let h = linearGroup(group, groups) * ${ROW_THREADS}u + t;
  if (h >= problem.heads) { return; }
  let R = problem.rowCount;
  let rows = problem.n * R;
  var total = 0.0;
  for (var slice = h; slice < problem.n; slice += problem.heads) {
    for (var r = 0u; r < R; r++) {
      let row = slice * R + r;
      total += (1.0 - word(problem.statsAt + rows + row)) * word(problem.statsAt + row);
    }
  }
  dSinks[h] -= total;
}
`;
}
