import type { DeviceReduceOp } from '@heed/tensor';
import { ELEMENTWISE_WORKGROUP, WGSL_HEADER } from './elementwise-shaders';

// Reductions of x viewed as [outer, n, inner] along n: out[o, i] = reduce_j x[o, j, i].

const INIT: Record<DeviceReduceOp, string> = { sum: '0.0', max: 'bitcast<f32>(NEG_INF)', min: 'bitcast<f32>(POS_INF)' };
// NaN wins max and min (as the CPU kernels): WGSL's max and min may return either operand of a NaN.
const COMBINE: Record<DeviceReduceOp, string> = {
  sum: 'acc + v',
  max: 'select(select(max(acc, v), v, isNan(v)), acc, isNan(acc))',
  min: 'select(select(min(acc, v), v, isNan(v)), acc, isNan(acc))',
};

/** Short rows: one invocation per output walks its n inputs. p = [outer·inner, n, inner]. */
export function reduceRowsShader(op: DeviceReduceOp): string {
  return /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<u32>;
fn combine(acc: f32, v: f32) -> f32 { return ${COMBINE[op]}; }
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  let n = p[1];
  let inner = p[2];
  let base = (i / inner) * n * inner + i % inner;
  var acc = ${INIT[op]};
  for (var j = 0u; j < n; j++) { acc = combine(acc, x[base + j * inner]); }
  out[i] = acc;
}`;
}

/** Threads per workgroup of the long-row reduction. */
export const REDUCE_WORKGROUP = 256;

/** Long rows: one workgroup per output, its threads stride over n, then a tree in workgroup memory. p as above. */
export function reduceLongShader(op: DeviceReduceOp): string {
  return /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<u32>;
var<workgroup> partial: array<f32, ${REDUCE_WORKGROUP}>;
fn combine(acc: f32, v: f32) -> f32 { return ${COMBINE[op]}; }
@compute @workgroup_size(${REDUCE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wg.y * nw.x + wg.x;
  let n = p[1];
  let inner = p[2];
  var acc = ${INIT[op]};
  if (i < p[0]) {
    let base = (i / inner) * n * inner + i % inner;
    for (var j = lid; j < n; j += ${REDUCE_WORKGROUP}u) { acc = combine(acc, x[base + j * inner]); }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${REDUCE_WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u && i < p[0]) { out[i] = partial[0]; }
}`;
}

/** Threads per row of the softmax kernel. */
export const SOFTMAX_WORKGROUP = 64;

/**
 * (log-)softmax along n of x viewed as [outer, n, inner], one workgroup per row: max, then Σ exp(x − max) and
 * the count of +∞ entries, then the outputs. An all −∞ row gives 0 (log: −∞); a row with k > 0 entries +∞ gives
 * 1/k on them and 0 elsewhere (log: −ln k and −∞) — as the CPU kernel. p = [rows, n, inner, log].
 */
export const SOFTMAX_SHADER = /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<u32>;
var<workgroup> partialMax: array<f32, ${SOFTMAX_WORKGROUP}>;
var<workgroup> partialSum: array<f32, ${SOFTMAX_WORKGROUP}>;
var<workgroup> partialCount: array<f32, ${SOFTMAX_WORKGROUP}>;
@compute @workgroup_size(${SOFTMAX_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * nw.x + wg.x;
  let live = row < p[0];
  let n = p[1];
  let inner = p[2];
  let base = (row / inner) * n * inner + row % inner;
  var m = bitcast<f32>(NEG_INF);
  if (live) { for (var j = lid; j < n; j += ${SOFTMAX_WORKGROUP}u) { m = max(m, x[base + j * inner]); } }
  partialMax[lid] = m;
  workgroupBarrier();
  for (var s = ${SOFTMAX_WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { partialMax[lid] = max(partialMax[lid], partialMax[lid + s]); }
    workgroupBarrier();
  }
  let rowMax = partialMax[0];
  let finiteMax = !isNegInf(rowMax) && !isPosInf(rowMax);
  var total = 0.0;
  var count = 0.0;
  if (live) {
    for (var j = lid; j < n; j += ${SOFTMAX_WORKGROUP}u) {
      let v = x[base + j * inner];
      if (finiteMax) { total += exp(v - rowMax); }
      if (isPosInf(v)) { count += 1.0; }
    }
  }
  partialSum[lid] = total;
  partialCount[lid] = count;
  workgroupBarrier();
  for (var s = ${SOFTMAX_WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partialSum[lid] += partialSum[lid + s];
      partialCount[lid] += partialCount[lid + s];
    }
    workgroupBarrier();
  }
  if (!live) { return; }
  let rowSum = partialSum[0];
  let infinities = partialCount[0];
  let logOut = p[3] == 1u;
  let negInf = bitcast<f32>(NEG_INF);
  for (var j = lid; j < n; j += ${SOFTMAX_WORKGROUP}u) {
    let at = base + j * inner;
    let v = x[at];
    var y: f32;
    if (isNegInf(rowMax)) {
      y = select(0.0, negInf, logOut);
    } else if (infinities > 0.0) {
      if (isPosInf(v)) { y = select(1.0 / infinities, -log(infinities), logOut); } else { y = select(0.0, negInf, logOut); }
    } else if (logOut) {
      y = select(v - rowMax - log(rowSum), negInf, isNegInf(v));
    } else {
      y = exp(v - rowMax) / rowSum;
    }
    out[at] = y;
  }
}`;
