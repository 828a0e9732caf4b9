import { WGSL_HEADER } from './elementwise-shaders';

// one_hot(argmax x) along the last axis of x viewed as [rows, n], one workgroup per row: each thread keeps the first
// maximum of its strided entries, then a tree in workgroup memory keeps the larger value (the lower index on a tie),
// so the first maximum of the row wins, as on the CPU. −∞ and NaN are never picked; a row with neither is all 0.

/** Threads per row of the one-hot kernel. */
export const ONE_HOT_WORKGROUP = 64;

/** out = one_hot(argmax x) [rows, n]. p = [rows, n]. */
export const ONE_HOT_ARGMAX_SHADER = /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<u32>;
var<workgroup> bestValue: array<f32, ${ONE_HOT_WORKGROUP}>;
var<workgroup> bestIndex: array<u32, ${ONE_HOT_WORKGROUP}>;
fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
@compute @workgroup_size(${ONE_HOT_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nw.x + wg.x;
  if (row >= p[0]) { return; }
  let n = p[1];
  let base = row * n;
  var value = bitcast<f32>(NEG_INF);
  var index = n; // n: none yet
  for (var j = lid; j < n; j += ${ONE_HOT_WORKGROUP}u) {
    let v = x[base + j];
    if (!isNegInf(v) && !isNan(v) && (index == n || v > value)) {
      value = v;
      index = j;
    }
  }
  bestValue[lid] = value;
  bestIndex[lid] = index;
  workgroupBarrier();
  for (var s = ${ONE_HOT_WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let otherIndex = bestIndex[lid + s];
      let otherValue = bestValue[lid + s];
      let mine = bestIndex[lid];
      let better = otherValue > bestValue[lid] || (otherValue == bestValue[lid] && otherIndex < mine);
      if (otherIndex != n && (mine == n || better)) {
        bestValue[lid] = otherValue;
        bestIndex[lid] = otherIndex;
      }
    }
    workgroupBarrier();
  }
  let winner = bestIndex[0];
  for (var j = lid; j < n; j += ${ONE_HOT_WORKGROUP}u) { out[base + j] = select(0.0, 1.0, j == winner); }
}`;
