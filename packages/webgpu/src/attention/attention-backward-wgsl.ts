import { type AttentionShaderConfig, lengthOf, oddStride } from './attention-forward-wgsl';
import { attentionCommonWgsl } from './attention-wgsl';

// The backward, in kernels that each write their outputs whole (no atomics on floats):
//   1. rowStatistics: per query row, D = dOut·out and the softmax max m and sum l (from logSumExp);
//   2. keyGradients: per key tile, dK and dV summed over every query row (and every slice of a GQA group);
//   3. queryGradients: per query tile, dQ summed over every key tile;
//   4. positionBiasGradient / sinksGradient: the variant parameters' gradients, summed per head.
// With P = e^(S − m) / l, dP = dOut Vᵀ, dS = P ⊙ (dP − D) ⊙ capSlope:
//   dV = Pᵀ dOut,  dK = scale · dSᵀ Q,  dQ = scale · dS K,  d positionBias[h, j − i] = Σ dS_ij,
//   d sinks[h] = −Σ e^(sink − m) / l · D.
// The row statistics live in the `extras` words at problem.statsAt: m [n·Lq], then l [n·Lq], then D [n·Lq]
// (l = 0 marks a row with no allowed key and no sink: it passes no gradient).

/** Row log-sum-exps below this magnitude are trusted as (m, l) = (lse, 1): their float32 rounding is < 2⁻²⁰. */
export const TRUSTED_LOG_SUM_EXP = 16;

/** Invocations per workgroup of the per-row and per-entry kernels. */
export const ROW_THREADS = 64;

const statsAccess = `fn rowMaxAt(row: u32) -> f32 { return word(problem.statsAt + row); }
fn rowSumAt(row: u32) -> f32 { return word(problem.statsAt + problem.n * problem.queryLength + row); }
fn deltaAt(row: u32) -> f32 { return word(problem.statsAt + 2u * problem.n * problem.queryLength + row); }
`;

/**
 * Per query row (one invocation each): D = dOut·out, and the row's softmax max m and sum l: (lse, 1) where the
 * forward's float32 log-sum-exp is small enough to trust, otherwise recomputed over the row's keys (logits of 1e3
 * and beyond, where e^(s − lse) with a rounded lse would be off), and l = 0 for a row with nothing to attend.
 * out, dOut [n, Lq, dv], logSumExp [n, Lq] -> extras m, l, D [n·Lq] each
 */
export function attentionRowStatisticsWgsl(): string {
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(4) var<storage, read> out: array<f32>;
@group(0) @binding(5) var<storage, read> dOut: array<f32>;
@group(0) @binding(6) var<storage, read> logSumExp: array<f32>;
@group(0) @binding(7) var<storage, read_write> extras: array<u32>;


@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let D = problem.headDim;
  let DV = problem.valueDim;
  let row = linearGroup(group, groups) * ${ROW_THREADS}u + t;
  let rowCount = problem.n * problem.queryLength;
  if (row >= rowCount) { return; }
  let slice = row / problem.queryLength;
  let i = row % problem.queryLength;
  let o = queryRowOf(slice, i) * DV;
  var delta = 0.0;
  for (var x = 0u; x < DV; x++) { delta += dOut[o + x] * out[o + x]; } // D = dOut·out   [dv] x [dv] -> scalar
  let lse = logSumExp[row];
  var m = lse;
  var l = 1.0;
  if (isMinusInfinity(lse)) {
    m = 0.0;
    l = 0.0;
  } else if (!(abs(lse) < ${TRUSTED_LOG_SUM_EXP}.0)) {
    // Recompute m and l over the row's keys with the forward's online rule.
    var seen = false;
    m = 0.0;
    l = 0.0;
    if (has(FLAG_SINKS)) {
      m = sinkOf(slice);
      l = 1.0;
      seen = true;
    }
    let qRow = queryRowOf(slice, i) * D;
    let kvSlice = slice / problem.groupSize;
    let keys = keyRange(i);
    for (var j = keys.x; j < keys.y; j++) {
      if (!keyKept(slice, i, j)) { continue; }
      let kRow = keyRowOf(kvSlice, j) * D;
      var qk = 0.0;
      for (var x = 0u; x < D; x++) { qk += q[qRow + x] * k[kRow + x]; }
      let s = scoreOf(slice, i, j, qk);
      if (isMinusInfinity(s)) { continue; }
      if (!seen || s > m) {
        l = select(0.0, l * exp(m - s), seen);
        m = s;
        seen = true;
      }
      l += weightOf(s, m);
    }
  }
  let rows = problem.n * problem.queryLength;
  extras[problem.statsAt + row] = bitcast<u32>(m);
  extras[problem.statsAt + rows + row] = bitcast<u32>(l);
  extras[problem.statsAt + 2u * rows + row] = bitcast<u32>(delta);
}
`;
}

/**
 * dK and dV: one workgroup per (k/v slice, tile of BK keys), one invocation per key, which keeps its k and v rows
 * and its dk, dv accumulators in registers. The query rows that may see the tile pass by in tiles of BQ rows
 * (q, dOut and the row statistics in workgroup memory), for every slice of the GQA group:
 *   p = e^(s − m) / l,  dp = dOut_i·v_j,  ds = p (dp − D_i) capSlope;  dv_j += p dOut_i,  dk_j += scale ds q_i.
 * q [n, Lq, d], k [nKv, Lk, d], v [nKv, Lk, dv], dOut [n, Lq, dv] -> dk [nKv, Lk, d], dv [nKv, Lk, dv]
 */
export function attentionKeyGradientsWgsl(config: AttentionShaderConfig): string {
  const { headDim: d, valueDim: dv, queryTile: BQ, keyTile: BK } = config;
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(5) var<storage, read> dOut: array<f32>;
@group(0) @binding(6) var<storage, read> extras: array<u32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;
${statsAccess}
const BQ = ${BQ}u;
const BK = ${BK}u;
var<workgroup> queryTile: array<f32, ${lengthOf(BQ * d)}>;   // [BQ, d]
var<workgroup> gradTile: array<f32, ${lengthOf(BQ * dv)}>;   // dOut rows   [BQ, dv]
var<workgroup> statsTile: array<f32, ${3 * BQ}>;             // m, l, D per row   [BQ, 3]
// Each invocation's own key's rows and accumulators (workgroup memory rather than large private arrays).
const KEY_STRIDE = ${oddStride(d)}u;   // odd strides: no bank conflicts between invocations
const VALUE_STRIDE = ${oddStride(dv)}u;
var<workgroup> keyRows: array<f32, ${BK * oddStride(d)}>;     // k_j    [BK, d]
var<workgroup> valueRows: array<f32, ${BK * oddStride(dv)}>;  // v_j    [BK, dv]
var<workgroup> dkRows: array<f32, ${BK * oddStride(d)}>;      // dk_j   [BK, d]
var<workgroup> dvRows: array<f32, ${BK * oddStride(dv)}>;     // dv_j   [BK, dv]

@compute @workgroup_size(${BK})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let D = problem.headDim;
  let DV = problem.valueDim;
  let block = linearGroup(group, groups);
  if (block >= problem.workgroups) { return; }
  let kvSlice = block / problem.tiles;
  let j0 = (block % problem.tiles) * BK;
  let cols = min(BK, problem.keyLength - j0);
  let inside = t < cols;
  let j = j0 + min(t, cols - 1u);
  let kRow = keyRowOf(kvSlice, j);
  let kj = t * KEY_STRIDE;    // this key in keyRows and dkRows
  let vj = t * VALUE_STRIDE;  // this key in valueRows and dvRows
  for (var x = 0u; x < D; x++) {
    keyRows[kj + x] = k[kRow * D + x];
    dkRows[kj + x] = 0.0;
  }
  for (var x = 0u; x < DV; x++) {
    valueRows[vj + x] = v[kRow * DV + x];
    dvRows[vj + x] = 0.0;
  }
  let queries = queryRange(j0, j0 + cols);
  for (var member = 0u; member < problem.groupSize; member++) {
    let slice = kvSlice * problem.groupSize + member;
    for (var i0 = queries.x; i0 < queries.y; i0 += BQ) {
      let rows = min(BQ, queries.y - i0);
      workgroupBarrier();
      for (var e = t; e < rows * D; e += BK) {
        let r = e / D;
        queryTile[e] = q[queryRowOf(slice, i0 + r) * D + e - r * D];
      }
      for (var e = t; e < rows * DV; e += BK) {
        let r = e / DV;
        gradTile[e] = dOut[queryRowOf(slice, i0 + r) * DV + e - r * DV];
      }
      for (var r = t; r < rows; r += BK) {
        let row = slice * problem.queryLength + i0 + r;
        statsTile[3u * r] = rowMaxAt(row);
        statsTile[3u * r + 1u] = rowSumAt(row);
        statsTile[3u * r + 2u] = deltaAt(row);
      }
      workgroupBarrier();
      if (inside) {
        for (var r = 0u; r < rows; r++) {
          let i = i0 + r;
          let l = statsTile[3u * r + 1u];
          let keys = keyRange(i);
          if (l == 0.0 || j < keys.x || j >= keys.y || !keyKept(slice, i, j)) { continue; }
          var qk = 0.0;
          for (var x = 0u; x < D; x++) { qk += queryTile[r * D + x] * keyRows[kj + x]; }
          let s = scoreOf(slice, i, j, qk);
          let p = weightOf(s, statsTile[3u * r]) / l;
          var dp = 0.0;
          for (var x = 0u; x < DV; x++) { dp += gradTile[r * DV + x] * valueRows[vj + x]; }
          let ds = p * (dp - statsTile[3u * r + 2u]) * capSlope(s);
          for (var x = 0u; x < DV; x++) { dvRows[vj + x] += p * gradTile[r * DV + x]; } // dV_j += P_ij dOut_i   [dv]
          for (var x = 0u; x < D; x++) { dkRows[kj + x] += ds * queryTile[r * D + x]; }  // dK_j += dS_ij q_i    [d]
        }
      }
    }
  }
  if (!inside) { return; }
  for (var x = 0u; x < D; x++) { dk[kRow * D + x] = problem.scale * dkRows[kj + x]; }
  for (var x = 0u; x < DV; x++) { dv[kRow * DV + x] = dvRows[vj + x]; }
}
`;
}

/**
 * dQ: one workgroup per (slice, tile of BQ query rows), one invocation per row, walking the key tiles as the
 * forward does (K and V tiles in workgroup memory):  dq_i = scale · Σ_j p_ij (dOut_i·v_j − D_i) capSlope k_j.
 * q [n, Lq, d], k [nKv, Lk, d], v [nKv, Lk, dv], dOut [n, Lq, dv] -> dq [n, Lq, d]
 */
export function attentionQueryGradientsWgsl(config: AttentionShaderConfig): string {
  const { headDim: d, valueDim: dv, queryTile: BQ, keyTile: BK } = config;
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(5) var<storage, read> dOut: array<f32>;
@group(0) @binding(6) var<storage, read> extras: array<u32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
${statsAccess}
const BQ = ${BQ}u;
const BK = ${BK}u;
var<workgroup> keyTile: array<f32, ${lengthOf(BK * d)}>;   // [BK, d]
var<workgroup> valueTile: array<f32, ${lengthOf(BK * dv)}>; // [BK, dv]
// Each invocation's own row state.
const QUERY_STRIDE = ${oddStride(d)}u;  // odd strides: no bank conflicts between invocations
const VALUE_STRIDE = ${oddStride(dv)}u;
var<workgroup> queryRows: array<f32, ${BQ * oddStride(d)}>;  // q_i      [BQ, d]
var<workgroup> gradRows: array<f32, ${BQ * oddStride(dv)}>;  // dOut_i   [BQ, dv]
var<workgroup> dqRows: array<f32, ${BQ * oddStride(d)}>;     // dq_i     [BQ, d]

@compute @workgroup_size(${BQ})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let D = problem.headDim;
  let DV = problem.valueDim;
  let block = linearGroup(group, groups);
  if (block >= problem.workgroups) { return; }
  let queryLength = problem.queryLength;
  let slice = block / problem.tiles;
  let i0 = (block % problem.tiles) * BQ;
  let rows = min(BQ, queryLength - i0);
  let kvSlice = slice / problem.groupSize;
  let i = i0 + min(t, rows - 1u);
  let row = slice * queryLength + i;
  let m = rowMaxAt(row);
  let l = rowSumAt(row);
  let delta = deltaAt(row);
  let live = t < rows && l != 0.0;
  let qRow = queryRowOf(slice, i);
  let qi = t * QUERY_STRIDE;  // this row in queryRows and dqRows
  let gi = t * VALUE_STRIDE;  // this row in gradRows
  for (var x = 0u; x < D; x++) {
    queryRows[qi + x] = q[qRow * D + x];
    dqRows[qi + x] = 0.0;
  }
  for (var x = 0u; x < DV; x++) { gradRows[gi + x] = dOut[qRow * DV + x]; }
  let mine = keyRange(i);
  let blockStart = keyRange(i0).x;
  let blockEnd = keyRange(i0 + rows - 1u).y;
  for (var j0 = blockStart; j0 < blockEnd; j0 += BK) {
    let cols = min(BK, blockEnd - j0);
    workgroupBarrier();
    for (var e = t; e < cols * D; e += BQ) {
      let c = e / D;
      keyTile[e] = k[keyRowOf(kvSlice, j0 + c) * D + e - c * D];
    }
    for (var e = t; e < cols * DV; e += BQ) {
      let c = e / DV;
      valueTile[e] = v[keyRowOf(kvSlice, j0 + c) * DV + e - c * DV];
    }
    workgroupBarrier();
    if (live) {
      let c0 = clamp(mine.x, j0, j0 + cols) - j0;
      let c1 = clamp(mine.y, j0, j0 + cols) - j0;
      for (var c = c0; c < c1; c++) {
        if (!keyKept(slice, i, j0 + c)) { continue; }
        var qk = 0.0;
        for (var x = 0u; x < D; x++) { qk += queryRows[qi + x] * keyTile[c * D + x]; }
        let s = scoreOf(slice, i, j0 + c, qk);
        let p = weightOf(s, m) / l;
        var dp = 0.0;
        for (var x = 0u; x < DV; x++) { dp += gradRows[gi + x] * valueTile[c * DV + x]; }
        let ds = p * (dp - delta) * capSlope(s);
        for (var x = 0u; x < D; x++) { dqRows[qi + x] += ds * keyTile[c * D + x]; } // dq_i += dS_ij k_j   [d]
      }
    }
  }
  if (t >= rows) { return; }
  for (var x = 0u; x < D; x++) { dq[qRow * D + x] = problem.scale * dqRows[qi + x]; }
}
`;
}

/**
 * d positionBias[h, e] for the offset j − i = e − (Lq − 1): one invocation per (head, offset), summing dS over
 * the diagonal of every slice of that head (recomputing each dS from its q, k, v and dOut rows).
 * -> dPositionBias [H, Lq + Lk − 1]
 */
export function attentionPositionBiasGradientWgsl(): string {
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(5) var<storage, read> dOut: array<f32>;
@group(0) @binding(6) var<storage, read> extras: array<u32>;
@group(0) @binding(7) var<storage, read_write> dPositionBias: array<f32>;
${statsAccess}

@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let D = problem.headDim;
  let DV = problem.valueDim;
  let index = linearGroup(group, groups) * ${ROW_THREADS}u + t;
  if (index >= problem.threads) { return; }
  let queryLength = problem.queryLength;
  let diagonals = queryLength + problem.keyLength - 1u;
  let h = index / diagonals;
  let offset = i32(index % diagonals) - i32(queryLength) + 1; // j − i
  let first = u32(max(0, -offset));
  let end = u32(min(i32(queryLength), i32(problem.keyLength) - offset));
  var total = 0.0;
  for (var slice = h; slice < problem.n; slice += problem.heads) {
    let kvSlice = slice / problem.groupSize;
    for (var i = first; i < end; i++) {
      let j = u32(i32(i) + offset);
      let row = slice * queryLength + i;
      let l = rowSumAt(row);
      let keys = keyRange(i);
      if (l == 0.0 || j < keys.x || j >= keys.y || !keyKept(slice, i, j)) { continue; }
      let qRow = queryRowOf(slice, i);
      let kRow = keyRowOf(kvSlice, j);
      var qk = 0.0;
      for (var x = 0u; x < D; x++) { qk += q[qRow * D + x] * k[kRow * D + x]; }
      var dp = 0.0;
      for (var x = 0u; x < DV; x++) { dp += dOut[qRow * DV + x] * v[kRow * DV + x]; }
      let s = scoreOf(slice, i, j, qk);
      let p = weightOf(s, rowMaxAt(row)) / l;
      total += p * (dp - deltaAt(row)) * capSlope(s);
    }
  }
  dPositionBias[index] = total;
}
`;
}

/**
 * d sinks[h] = −Σ over the rows of head h of P_sink · D, with P_sink = e^(sink − m) / l: one invocation per head.
 * -> dSinks [H]
 */
export function attentionSinksGradientWgsl(): string {
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(2) var<storage, read> extras: array<u32>;
@group(0) @binding(3) var<storage, read_write> dSinks: array<f32>;
${statsAccess}

@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) t: u32) {
  let D = problem.headDim;
  let DV = problem.valueDim;
  let h = linearGroup(group, groups) * ${ROW_THREADS}u + t;
  if (h >= problem.heads) { return; }
  let sink = sinkOf(h);
  var total = 0.0;
  for (var slice = h; slice < problem.n; slice += problem.heads) {
    for (var i = 0u; i < problem.queryLength; i++) {
      let row = slice * problem.queryLength + i;
      let l = rowSumAt(row);
      if (l == 0.0) { continue; }
      total -= exp(sink - rowMaxAt(row)) / l * deltaAt(row);
    }
  }
  dSinks[h] = total;
}
`;
}
