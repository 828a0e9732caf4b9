import { WGSL_HEADER } from './elementwise-shaders';

// Attention by rows: the AttentionProblem contract (masks, causal offset, window, GQA, both layouts) computed one
// query row (or one key row) per invocation, with the online softmax of the fused kernels — never the Lq×Lk
// matrix. A direct transcription of the equations, simple enough to check by eye: the reference the tiled WGSL
// attention kernels are compared with, and the path attention takes on the GPU where those are not in use.
//
// p = [n, Lq, Lk, d, dv, scale, hasCausal, causalOffset, hasWindow, windowStart, hasMask, ms0, ms1, ms2,
//      groupSize, sequenceFirst, H] (scale as f32 bits, the offsets as i32 bits).

/** Invocations per workgroup of the row kernels. */
export const ROW_WORKGROUP = 64;

const COMMON = /* wgsl */ `${WGSL_HEADER}
fn sliceCount() -> u32 { return p[0]; }
fn queryLength() -> u32 { return p[1]; }
fn keyLength() -> u32 { return p[2]; }
fn headDim() -> u32 { return p[3]; }
fn valueDim() -> u32 { return p[4]; }
fn scale() -> f32 { return bitcast<f32>(p[5]); }
fn groupSize() -> u32 { return p[14]; }
// Start of query row i of slice s in a tensor of rows of 'width' (q, out, dOut, dq).
fn queryRow(s: u32, i: u32, width: u32) -> u32 {
  if (p[15] == 1u) { let heads = p[16]; return (((s / heads) * queryLength() + i) * heads + s % heads) * width; }
  return (s * queryLength() + i) * width;
}
// Start of key row j of the key/value slice query slice s reads (k, v, dk, dv).
fn keyRow(s: u32, j: u32, width: u32) -> u32 {
  if (p[15] == 1u) {
    let heads = p[16];
    let kvHeads = heads / groupSize();
    return (((s / heads) * keyLength() + j) * kvHeads + (s % heads) / groupSize()) * width;
  }
  return ((s / groupSize()) * keyLength() + j) * width;
}
fn allowed(s: u32, i: u32, j: u32) -> bool {
  let ii = i32(i);
  let jj = i32(j);
  if (p[6] == 1u && jj > ii + bitcast<i32>(p[7])) { return false; }
  if (p[8] == 1u && jj < ii + bitcast<i32>(p[9])) { return false; }
  if (p[10] == 1u && keep[s * p[11] + i * p[12] + j * p[13]] == 0.0) { return false; }
  return true;
}
fn score(s: u32, i: u32, j: u32) -> f32 {
  let qa = queryRow(s, i, headDim());
  let ka = keyRow(s, j, headDim());
  var dot = 0.0;
  for (var c = 0u; c < headDim(); c++) { dot += q[qa + c] * k[ka + c]; }
  return scale() * dot;
}
fn rowIndex(wg: vec3u, nw: vec3u, lid: u32) -> u32 { return (wg.y * nw.x + wg.x) * ${ROW_WORKGROUP}u + lid; }
`;

/** Forward, one invocation per query row r = s·Lq + i: out row and logSumExp[r]. */
export const ROW_ATTENTION_FORWARD_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> keep: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> logSumExp: array<f32>;
@group(0) @binding(6) var<storage, read> p: array<u32>;
${COMMON}
@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = rowIndex(wg, nw, lid);
  if (r >= sliceCount() * queryLength()) { return; }
  let s = r / queryLength();
  let i = r % queryLength();
  let o = queryRow(s, i, valueDim());
  for (var c = 0u; c < valueDim(); c++) { out[o + c] = 0.0; }
  var rowMax = 0.0;
  var total = 0.0; // Σ exp(s_ij − rowMax) over the allowed keys so far; 0 until the first
  for (var j = 0u; j < keyLength(); j++) {
    if (!allowed(s, i, j)) { continue; }
    let sij = score(s, i, j);
    let next = select(sij, max(rowMax, sij), total > 0.0);
    let rescale = select(0.0, exp(rowMax - next), total > 0.0);
    let weight = exp(sij - next);
    total = total * rescale + weight;
    let va = keyRow(s, j, valueDim());
    for (var c = 0u; c < valueDim(); c++) { out[o + c] = out[o + c] * rescale + weight * v[va + c]; }
    rowMax = next;
  }
  if (total == 0.0) { logSumExp[r] = bitcast<f32>(NEG_INF); return; }
  for (var c = 0u; c < valueDim(); c++) { out[o + c] = out[o + c] / total; }
  logSumExp[r] = rowMax + log(total);
}`;

/** Row statistics of the backward, one invocation per query row: stats[2r] = logSumExp[r], stats[2r + 1] = Σ_c dOut ⊙ out. */
export const ROW_ATTENTION_STATS_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> out: array<f32>;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> logSumExp: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
@group(0) @binding(4) var<storage, read> p: array<u32>;
@group(0) @binding(5) var<storage, read> q: array<f32>;
@group(0) @binding(6) var<storage, read> k: array<f32>;
@group(0) @binding(7) var<storage, read> keep: array<f32>;
${COMMON}
@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = rowIndex(wg, nw, lid);
  if (r >= sliceCount() * queryLength()) { return; }
  let o = queryRow(r / queryLength(), r % queryLength(), valueDim());
  var dot = 0.0;
  for (var c = 0u; c < valueDim(); c++) { dot += dOut[o + c] * out[o + c]; }
  stats[2u * r] = logSumExp[r];
  stats[2u * r + 1u] = dot;
}`;

// P_ij = exp(s_ij − lse_i), dS_ij = P_ij (dOut_i · v_j − D_i): the backward's shared terms.
const BACKWARD_TERMS = /* wgsl */ `
fn weightOf(s: u32, i: u32, j: u32) -> f32 {
  let lse = stats[2u * (s * queryLength() + i)];
  if (isNegInf(lse) || !allowed(s, i, j)) { return 0.0; }
  return exp(score(s, i, j) - lse);
}
fn scoreGrad(s: u32, i: u32, j: u32, weight: f32) -> f32 {
  let o = queryRow(s, i, valueDim());
  let va = keyRow(s, j, valueDim());
  var dp = 0.0;
  for (var c = 0u; c < valueDim(); c++) { dp += dOut[o + c] * v[va + c]; }
  return weight * (dp - stats[2u * (s * queryLength() + i) + 1u]);
}
`;

/** dq, one invocation per query row: dq_i = scale Σ_j dS_ij k_j. */
export const ROW_ATTENTION_DQ_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> keep: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read> dOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;
@group(0) @binding(7) var<storage, read> p: array<u32>;
${COMMON}${BACKWARD_TERMS}
@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = rowIndex(wg, nw, lid);
  if (r >= sliceCount() * queryLength()) { return; }
  let s = r / queryLength();
  let i = r % queryLength();
  let qa = queryRow(s, i, headDim());
  for (var c = 0u; c < headDim(); c++) { dq[qa + c] = 0.0; }
  for (var j = 0u; j < keyLength(); j++) {
    let weight = weightOf(s, i, j);
    if (weight == 0.0) { continue; }
    let ds = scale() * scoreGrad(s, i, j, weight);
    let ka = keyRow(s, j, headDim());
    for (var c = 0u; c < headDim(); c++) { dq[qa + c] += ds * k[ka + c]; }
  }
}`;

/**
 * dk or dv, one invocation per key row j of key/value slice t (query slices t·g … t·g + g − 1 read it):
 * dv_j = Σ_(s,i) P_ij dOut_i, dk_j = scale Σ_(s,i) dS_ij q_i. p[17] = 1 for dv, 0 for dk.
 */
export const ROW_ATTENTION_DKV_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> keep: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read> dOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad: array<f32>;
@group(0) @binding(7) var<storage, read> p: array<u32>;
${COMMON}${BACKWARD_TERMS}
@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = rowIndex(wg, nw, lid);
  let kvSlices = sliceCount() / groupSize();
  if (r >= kvSlices * keyLength()) { return; }
  let t = r / keyLength();
  let j = r % keyLength();
  let forValues = p[17] == 1u;
  let width = select(headDim(), valueDim(), forValues);
  let at = keyRow(t * groupSize(), j, width);
  for (var c = 0u; c < width; c++) { grad[at + c] = 0.0; }
  for (var s = t * groupSize(); s < (t + 1u) * groupSize(); s++) {
    for (var i = 0u; i < queryLength(); i++) {
      let weight = weightOf(s, i, j);
      if (weight == 0.0) { continue; }
      if (forValues) {
        let o = queryRow(s, i, valueDim());
        for (var c = 0u; c < width; c++) { grad[at + c] += weight * dOut[o + c]; }
      } else {
        let ds = scale() * scoreGrad(s, i, j, weight);
        let qa = queryRow(s, i, headDim());
        for (var c = 0u; c < width; c++) { grad[at + c] += ds * q[qa + c]; }
      }
    }
  }
}`;

/**
 * Exact weights of chosen query rows (heads-first), one invocation per (slice s, chosen row r): P_sj =
 * exp(s_ij − lse_i) on allowed keys, 0 elsewhere and on fully masked rows, then divided by the row's sum (as the
 * CPU kernel). out [n, R, Lk]; p[17] = R.
 */
export const ROW_ATTENTION_WEIGHTS_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> keep: array<f32>;
@group(0) @binding(3) var<storage, read> logSumExp: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> p: array<u32>;
${COMMON}
@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let chosen = p[17];
  let r = rowIndex(wg, nw, lid);
  if (r >= sliceCount() * chosen) { return; }
  let s = r / chosen;
  let i = rows[r % chosen];
  let lse = logSumExp[s * queryLength() + i];
  let o = r * keyLength();
  var total = 0.0;
  for (var j = 0u; j < keyLength(); j++) {
    var weight = 0.0;
    if (!isNegInf(lse) && allowed(s, i, j)) { weight = exp(score(s, i, j) - lse); }
    out[o + j] = weight;
    total += weight;
  }
  if (total > 0.0) { for (var j = 0u; j < keyLength(); j++) { out[o + j] = out[o + j] / total; } }
}`;

/** Σ_j G_sj P_sj per chosen row (the softmax backward's row term): stats [n·R]. p[17] = R. */
export const ROW_WEIGHTS_STATS_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> weights: array<f32>;
@group(0) @binding(1) var<storage, read> dWeights: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = (wg.y * nw.x + wg.x) * ${ROW_WORKGROUP}u + lid;
  if (r >= p[0] * p[17]) { return; }
  let o = r * p[2];
  var dot = 0.0;
  for (var j = 0u; j < p[2]; j++) { dot += dWeights[o + j] * weights[o + j]; }
  stats[r] = dot;
}`;

// dS_srj = P_srj (G_srj − stats_sr): the gradient of the scores of chosen row r.
const WEIGHTS_BACKWARD = /* wgsl */ `
fn scoreGrad(s: u32, r: u32, j: u32) -> f32 {
  let at = (s * p[17] + r) * keyLength() + j;
  return weights[at] * (dWeights[at] - stats[s * p[17] + r]);
}
`;

/** dq of the weights, one invocation per query row (s, i): scale Σ over chosen rows r = i (repeats add) Σ_j dS k_j. */
export const ROW_WEIGHTS_DQ_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> dWeights: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<storage, read_write> dq: array<f32>;
@group(0) @binding(6) var<storage, read> p: array<u32>;
@group(0) @binding(7) var<storage, read> q: array<f32>;
@group(0) @binding(8) var<storage, read> keep: array<f32>;
${COMMON}${WEIGHTS_BACKWARD}
@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = rowIndex(wg, nw, lid);
  if (row >= sliceCount() * queryLength()) { return; }
  let s = row / queryLength();
  let i = row % queryLength();
  let qa = queryRow(s, i, headDim());
  for (var c = 0u; c < headDim(); c++) { dq[qa + c] = 0.0; }
  for (var r = 0u; r < p[17]; r++) {
    if (rows[r] != i) { continue; }
    for (var j = 0u; j < keyLength(); j++) {
      let ds = scale() * scoreGrad(s, r, j);
      if (ds == 0.0) { continue; }
      let ka = keyRow(s, j, headDim());
      for (var c = 0u; c < headDim(); c++) { dq[qa + c] += ds * k[ka + c]; }
    }
  }
}`;

/** dk of the weights, one invocation per key row (t, j): scale Σ over the group's slices s and chosen rows r of dS q_rows[r]. */
export const ROW_WEIGHTS_DK_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> dWeights: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<storage, read_write> dk: array<f32>;
@group(0) @binding(6) var<storage, read> p: array<u32>;
@group(0) @binding(7) var<storage, read> k: array<f32>;
@group(0) @binding(8) var<storage, read> keep: array<f32>;
${COMMON}${WEIGHTS_BACKWARD}
@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = rowIndex(wg, nw, lid);
  if (row >= (sliceCount() / groupSize()) * keyLength()) { return; }
  let t = row / keyLength();
  let j = row % keyLength();
  let at = keyRow(t * groupSize(), j, headDim());
  for (var c = 0u; c < headDim(); c++) { dk[at + c] = 0.0; }
  for (var s = t * groupSize(); s < (t + 1u) * groupSize(); s++) {
    for (var r = 0u; r < p[17]; r++) {
      let ds = scale() * scoreGrad(s, r, j);
      if (ds == 0.0) { continue; }
      let qa = queryRow(s, rows[r], headDim());
      for (var c = 0u; c < headDim(); c++) { dk[at + c] += ds * q[qa + c]; }
    }
  }
}`;
