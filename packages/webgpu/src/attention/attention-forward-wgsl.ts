import { attentionCommonWgsl } from './attention-wgsl';

/** The static configuration a kernel's WGSL is generated for (the dynamic sizes are in the uniform block). */
export interface AttentionShaderConfig {
  /** The longest q/k row the workgroup arrays hold (≥ the problem's d, which the loops run to). */
  headDim: number;
  /** The longest v row the workgroup arrays hold (≥ the problem's dv). */
  valueDim: number;
  /** Rows of a query tile (= invocations of a workgroup, one per row) in the kernels that walk key tiles. */
  queryTile: number;
  /** Keys of a key tile held in workgroup memory. */
  keyTile: number;
}

/** `array<f32, N>` sizes must be ≥ 1. */
export function lengthOf(n: number): number {
  return Math.max(1, n);
}

/** The stride of a row of n floats that each invocation keeps in workgroup memory: odd (n or n + 1), against bank conflicts. */
export function oddStride(n: number): number {
  return n % 2 === 1 ? n : n + 1;
}

/**
 * The forward (FlashAttention-2 loop order): one workgroup per (slice, tile of BQ query rows), one invocation
 * per row. The workgroup walks the key tiles any of its rows may see; each tile of K and V is loaded once into
 * workgroup memory and read by every row, which keeps its q row, running max m, sum l and accumulator in registers:
 *   s = scores of the tile (masked keys skipped);  m' = max(m, max s);  l' = l·e^(m−m') + Σ e^(s−m');
 *   acc ← acc·l·e^(m−m') / l' + Σ e^(s−m') v / l'  (acc stays the normalised output);   out = acc,  logSumExp = m + log l.
 * q [n, Lq, d], k [nKv, Lk, d], v [nKv, Lk, dv] -> out [n, Lq, dv], logSumExp [n, Lq]
 */
export function attentionForwardWgsl(config: AttentionShaderConfig): string {
  const { headDim: d, valueDim: dv, queryTile: BQ, keyTile: BK } = config;
  return `${attentionCommonWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> attentionMask: array<f32>;
@group(0) @binding(5) var<storage, read> extras: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> logSumExp: array<f32>;

const BQ = ${BQ}u;
const BK = ${BK}u;
var<workgroup> keyTile: array<f32, ${lengthOf(BK * d)}>;   // [BK, d]
var<workgroup> valueTile: array<f32, ${lengthOf(BK * dv)}>; // [BK, dv]
// Each invocation's own row state (in workgroup memory, not registers: SwiftShader compiles large private
// arrays slowly, and a register file would not hold rows of 256 floats either).
// Their strides are odd, so that the invocations reading element x of their rows hit different memory banks.
const QUERY_STRIDE = ${oddStride(d)}u;
const VALUE_STRIDE = ${oddStride(dv)}u;
const SCORE_STRIDE = ${oddStride(BK)}u;
var<workgroup> queryRows: array<f32, ${BQ * oddStride(d)}>;   // q_i   [BQ, d]
var<workgroup> accRows: array<f32, ${BQ * oddStride(dv)}>;    // acc_i [BQ, dv]
var<workgroup> scoreRows: array<f32, ${BQ * oddStride(BK)}>;  // the tile's scores s_ij (MASKED where not kept)   [BQ, BK]

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
  let inside = t < rows;
  let i = i0 + min(t, rows - 1u);
  let qRow = queryRowOf(slice, i) * D;
  let qi = t * QUERY_STRIDE;   // this row in queryRows
  let acc = t * VALUE_STRIDE;  // this row in accRows
  let si = t * SCORE_STRIDE;   // this row in scoreRows
  for (var x = 0u; x < D; x++) { queryRows[qi + x] = q[qRow + x]; }
  for (var x = 0u; x < DV; x++) { accRows[acc + x] = 0.0; }
  var m = 0.0;
  var l = 0.0;
  var seen = false;
  if (has(FLAG_SINKS)) {
    // The sink is one more logit of the softmax, with no value.
    m = sinkOf(slice);
    l = 1.0;
    seen = true;
  }
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
    if (inside) {
      let c0 = clamp(mine.x, j0, j0 + cols) - j0;
      let c1 = clamp(mine.y, j0, j0 + cols) - j0;
      var tileMax = LOWEST;
      var anyKept = false;
      for (var c = c0; c < c1; c++) {
        scoreRows[si + c] = MASKED;
        if (!keyKept(slice, i, j0 + c)) { continue; }
        var qk = 0.0;
        for (var x = 0u; x < D; x++) { qk += queryRows[qi + x] * keyTile[c * D + x]; }
        let s = scoreOf(slice, i, j0 + c, qk);
        if (isMinusInfinity(s)) { continue; } // q·k past −float32's range: weight 0, like a masked key
        scoreRows[si + c] = s;
        tileMax = max(tileMax, s);
        anyKept = true;
      }
      if (anyKept) {
        // acc is kept normalised (the weighted mean of the values so far), so that it stays finite for values
        // near float32's maximum:  l' = l·e^(m−m') + Σ p,  acc ← acc · l·e^(m−m') / l' + Σ (p / l') v.
        var alpha = 1.0;
        if (!seen || tileMax > m) {
          alpha = select(0.0, exp(m - tileMax), seen); // nothing yet on the first visible tile
          m = tileMax;
          seen = true;
        }
        var tileSum = 0.0;
        for (var c = c0; c < c1; c++) {
          let s = scoreRows[si + c];
          let p = select(weightOf(s, m), 0.0, s == MASKED);
          scoreRows[si + c] = p; // the tile's weights e^(s − m)
          tileSum += p;
        }
        let previous = l * alpha;
        l = previous + tileSum;
        let carry = previous / l;
        let inv = 1.0 / l;
        for (var x = 0u; x < DV; x++) { accRows[acc + x] *= carry; }
        for (var c = c0; c < c1; c++) {
          let p = scoreRows[si + c] * inv;
          if (p == 0.0) { continue; }
          for (var x = 0u; x < DV; x++) { accRows[acc + x] += p * valueTile[c * DV + x]; } // acc += P V_tile / l   [C] x [C, dv] -> [dv]
        }
      }
    }
  }
  if (!inside) { return; }
  let o = queryRowOf(slice, i) * DV;
  if (!seen) {
    // A row with no allowed key: out 0, logSumExp −∞, never NaN.
    for (var x = 0u; x < DV; x++) { out[o + x] = 0.0; }
    logSumExp[slice * queryLength + i] = problem.minusInfinity;
    return;
  }
  for (var x = 0u; x < DV; x++) { out[o + x] = accRows[acc + x]; }
  logSumExp[slice * queryLength + i] = m + log(l);
}
`;
}
