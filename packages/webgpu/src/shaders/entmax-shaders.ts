import { WGSL_HEADER } from './elementwise-shaders';

// α-entmax along the last axis of z viewed as [rows, n] (Peters, Niculae & Martins 2019), one workgroup per row:
//   p_i = [x_i − τ]₊^{1/(α−1)},  x_i = (α − 1)(z_i − max z),  τ such that Σ p = 1;
// α = 2 is sparsemax (Martins & Astudillo 2016), α = 1.5 entmax15. τ is found without sorting: bisection on
// [−1, −(1/k)^{α−1}] (k the entries that are not −∞) down to adjacent float32s, each step one pass over the row and a
// tree sum in workgroup memory. For α = 2 and α = 1.5 the threshold is then made exact on the support S = {x_i > τ}
// found by the bisection, in closed form relative to the bracket's end t (d_i = x_i − t):
//   α = 2:   δ = (Σ_S d − 1) / |S|;   α = 1.5:  δ = (Σ_S d² − 1) / (Σ_S d + √((Σ_S d)² − |S| (Σ_S d² − 1)))
// (the root of Σ_S (d_i − δ)^{1/(α−1)} = 1 near 0, written without cancellation). The backward reads
// s = p^{2−α} on the support (1 for sparsemax, √p for entmax15) and 0 off it: dz = s ⊙ g − s (sᵀg) / Σ s.
// Rows of only −∞ give 0; a row with k entries of +∞ gives 1/k on them (the limit as they grow), as the CPU.

/** Threads per row of the entmax kernels. */
export const ENTMAX_WORKGROUP = 128;

/** Bisection steps at most (float32 brackets reach adjacent values well before). */
const MAX_STEPS = 96;

/** The tree sum and max of one value per thread, returned to every thread as a uniform value. */
const ROW_REDUCTIONS = /* wgsl */ `
var<workgroup> partial: array<f32, ${ENTMAX_WORKGROUP}>;
fn rowSum(lid: u32, v: f32) -> f32 {
  workgroupBarrier(); // every thread has read the last result before partial is written again
  partial[lid] = v;
  workgroupBarrier();
  for (var s = ${ENTMAX_WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&partial[0]);
}
fn rowMax(lid: u32, v: f32) -> f32 {
  workgroupBarrier();
  partial[lid] = v;
  workgroupBarrier();
  for (var s = ${ENTMAX_WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = max(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&partial[0]);
}
`;

/**
 * Forward: out = p, secant = s = p^{2−α} (0 off the support), both [rows, n].
 * p = [rows, n, mode (2: α = 2, 1: α = 1.5, 0: any α), α − 1, 1/(α − 1), (2 − α)/(α − 1)] (the last three as f32 bits).
 */
export const ENTMAX_SHADER = /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> secant: array<f32>;
@group(0) @binding(3) var<storage, read> p: array<u32>;
${ROW_REDUCTIONS}
// [d]₊^{1/(α−1)} for d > 0
fn probability(d: f32, mode: u32, power: f32) -> f32 {
  if (mode == 2u) { return d; }
  if (mode == 1u) { return d * d; }
  return pow(d, power);
}
// [d]₊^{(2−α)/(α−1)} = p^{2−α} for d > 0
fn secantOf(d: f32, mode: u32, secantPower: f32) -> f32 {
  if (mode == 2u) { return 1.0; }
  if (mode == 1u) { return d; }
  return pow(d, secantPower);
}
@compute @workgroup_size(${ENTMAX_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nw.x + wg.x;
  if (row >= p[0]) { return; }
  let n = p[1];
  let mode = p[2];
  let scale = bitcast<f32>(p[3]); // α − 1
  let power = bitcast<f32>(p[4]); // 1/(α − 1)
  let secantPower = bitcast<f32>(p[5]); // (2 − α)/(α − 1)
  let base = row * n;

  // The row's max, its entries that are not −∞ (kept) and those that are +∞.
  var localMax = bitcast<f32>(NEG_INF);
  var kept = 0.0;
  var infinities = 0.0;
  for (var j = lid; j < n; j += ${ENTMAX_WORKGROUP}u) {
    let v = z[base + j];
    if (!isNegInf(v)) { kept += 1.0; localMax = max(localMax, v); }
    if (isPosInf(v)) { infinities += 1.0; }
  }
  let top = rowMax(lid, localMax);
  let keptTotal = rowSum(lid, kept);
  let infiniteTotal = rowSum(lid, infinities);
  if (keptTotal == 0.0 || infiniteTotal > 0.0) {
    // A fully masked row: zeros. Entries of +∞: 1/k each (s = (1/k)^{2−α}), 0 elsewhere.
    let share = 1.0 / max(infiniteTotal, 1.0);
    for (var j = lid; j < n; j += ${ENTMAX_WORKGROUP}u) {
      let infinite = isPosInf(z[base + j]);
      out[base + j] = select(0.0, share, infinite);
      secant[base + j] = select(0.0, select(pow(share, secantPower * scale), 1.0, mode == 2u), infinite); // (1/k)^{2−α}
    }
    return;
  }

  // Bisection for t with Σ [x_i − t]₊^{1/(α−1)} = 1: excess(lo) ≥ 0 ≥ excess(hi).
  var lo = -1.0;
  var hi = -pow(1.0 / keptTotal, scale);
  for (var step = 0u; step < ${MAX_STEPS}u; step++) {
    let mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) { break; } // adjacent float32s
    var local = 0.0;
    for (var j = lid; j < n; j += ${ENTMAX_WORKGROUP}u) {
      let v = z[base + j];
      let d = scale * (v - top) - mid;
      if (!isNegInf(v) && d > 0.0) { local += probability(d, mode, power); }
    }
    if (rowSum(lid, local) >= 1.0) { lo = mid; } else { hi = mid; }
  }

  // Sums over the support relative to lo: Σ d^{1/(α−1)} (and, for the exact thresholds, Σ d, Σ d², |S|).
  var mass = 0.0;
  var massHi = 0.0;
  var sumD = 0.0;
  var sumD2 = 0.0;
  var count = 0.0;
  for (var j = lid; j < n; j += ${ENTMAX_WORKGROUP}u) {
    let v = z[base + j];
    let x = scale * (v - top);
    let d = x - lo;
    if (!isNegInf(v) && d > 0.0) {
      mass += probability(d, mode, power);
      sumD += d;
      sumD2 += d * d;
      count += 1.0;
    }
    let dHi = x - hi;
    if (!isNegInf(v) && dHi > 0.0) { massHi += probability(dHi, mode, power); }
  }
  let excessLo = rowSum(lid, mass) - 1.0;
  let excessHi = rowSum(lid, massHi) - 1.0;
  let supportSum = rowSum(lid, sumD);
  let supportSquares = rowSum(lid, sumD2);
  let support = rowSum(lid, count);
  var t = select(hi, lo, abs(excessLo) <= abs(excessHi));
  var delta = 0.0;
  if (mode == 2u) {
    t = lo;
    delta = (supportSum - 1.0) / support;
  } else if (mode == 1u) {
    t = lo;
    let discriminant = max(supportSum * supportSum - support * (supportSquares - 1.0), 0.0);
    delta = (supportSquares - 1.0) / (supportSum + sqrt(discriminant));
  }

  for (var j = lid; j < n; j += ${ENTMAX_WORKGROUP}u) {
    let v = z[base + j];
    let gap = (scale * (v - top) - t) - delta;
    var pj = 0.0;
    var sj = 0.0;
    if (!isNegInf(v) && gap > 0.0) {
      pj = probability(gap, mode, power);
      sj = secantOf(gap, mode, secantPower);
    }
    out[base + j] = pj;
    secant[base + j] = sj;
  }
}`;

/** Backward: dz = s ⊙ g − s (sᵀg) / Σ s per row (0 where Σ s = 0). p = [rows, n]; bindings s, g, dz. */
export const ENTMAX_BACKWARD_SHADER = /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read> secant: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> dz: array<f32>;
@group(0) @binding(3) var<storage, read> p: array<u32>;
${ROW_REDUCTIONS}
@compute @workgroup_size(${ENTMAX_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nw.x + wg.x;
  if (row >= p[0]) { return; }
  let n = p[1];
  let base = row * n;
  var sg = 0.0;
  var total = 0.0;
  for (var j = lid; j < n; j += ${ENTMAX_WORKGROUP}u) {
    let s = secant[base + j];
    if (s > 0.0) { sg += s * g[base + j]; }
    total += s;
  }
  let dot = rowSum(lid, sg);
  let sTotal = rowSum(lid, total);
  let shift = select(0.0, dot / sTotal, sTotal > 0.0);
  for (var j = lid; j < n; j += ${ENTMAX_WORKGROUP}u) {
    let s = secant[base + j];
    dz[base + j] = select(0.0, s * (g[base + j] - shift), s > 0.0);
  }
}`;
