// The tiled matrix product: out[t] = op(A_t) · op(B_t), op a transpose when asked (read in place, never copied).
// Each workgroup computes a TILE×TILE block of one product: 16×16 invocations, each a 4×4 register tile; the
// shared dimension is walked in slices of DEPTH, A's and B's slices staged in workgroup memory. Edges (sizes
// that are not multiples of the tile) load zeros and skip their stores.

/** Output rows and columns per workgroup. */
export const MATMUL_TILE = 64;
/** The shared dimension's slice staged per step. */
export const MATMUL_DEPTH = 16;

/**
 * Bindings: a, b, out, offsets (u32 pairs: A's and B's element offset of product t), p = [m, n, k, transposeA,
 * transposeB, firstProduct]. Workgroups: (⌈n / TILE⌉, ⌈m / TILE⌉, products).
 */
export const MATMUL_SHADER = /* wgsl */ `
const TILE = ${MATMUL_TILE}u;
const DEPTH = ${MATMUL_DEPTH}u;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> offsets: array<u32>;
@group(0) @binding(4) var<storage, read> p: array<u32>;
var<workgroup> tileA: array<f32, ${MATMUL_TILE * MATMUL_DEPTH}>; // [DEPTH][TILE]: op(A)[row, kk] at kk·TILE + row
var<workgroup> tileB: array<f32, ${MATMUL_TILE * MATMUL_DEPTH}>; // [DEPTH][TILE]: op(B)[kk, col] at kk·TILE + col
// Row r, columns c … c + 3 of the output, those inside it.
fn store(base: u32, r: u32, c: u32, m: u32, n: u32, values: vec4f) {
  if (r >= m) { return; }
  if (c < n) { out[base + r * n + c] = values.x; }
  if (c + 1u < n) { out[base + r * n + c + 1u] = values.y; }
  if (c + 2u < n) { out[base + r * n + c + 2u] = values.z; }
  if (c + 3u < n) { out[base + r * n + c + 3u] = values.w; }
}
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let m = p[0];
  let n = p[1];
  let k = p[2];
  let transposeA = p[3] == 1u;
  let transposeB = p[4] == 1u;
  let product = p[5] + wg.z;
  let aBase = offsets[2u * product];
  let bBase = offsets[2u * product + 1u];
  let outBase = product * m * n;
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  // The 4×4 register tile as four row vectors (constant indices only: no spills to memory).
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < k; k0 += DEPTH) {
    for (var e = 0u; e < 4u; e++) {
      let slot = li + e * 256u; // 0 .. TILE·DEPTH − 1
      // A transposed is stored [k, m]: walk rows fastest for it, the shared axis fastest otherwise (coalesced).
      var r: u32;
      var kk: u32;
      if (transposeA) { r = slot % TILE; kk = slot / TILE; } else { kk = slot % DEPTH; r = slot / DEPTH; }
      let gr = row0 + r;
      let gk = k0 + kk;
      var va = 0.0;
      if (gr < m && gk < k) { va = a[aBase + select(gr * k + gk, gk * m + gr, transposeA)]; }
      tileA[kk * TILE + r] = va;
      var c: u32;
      var kb: u32;
      if (transposeB) { kb = slot % DEPTH; c = slot / DEPTH; } else { c = slot % TILE; kb = slot / TILE; }
      let gc = col0 + c;
      let gkb = k0 + kb;
      var vb = 0.0;
      if (gc < n && gkb < k) { vb = b[bBase + select(gkb * n + gc, gc * k + gkb, transposeB)]; }
      tileB[kb * TILE + c] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < DEPTH; kk++) {
      let ra = kk * TILE + lid.y * 4u;
      let cb = kk * TILE + lid.x * 4u;
      let av = vec4f(tileA[ra], tileA[ra + 1u], tileA[ra + 2u], tileA[ra + 3u]);
      let bv = vec4f(tileB[cb], tileB[cb + 1u], tileB[cb + 2u], tileB[cb + 3u]);
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let r0 = row0 + lid.y * 4u;
  let c0 = col0 + lid.x * 4u;
  store(outBase, r0, c0, m, n, acc0);
  store(outBase, r0 + 1u, c0, m, n, acc1);
  store(outBase, r0 + 2u, c0, m, n, acc2);
  store(outBase, r0 + 3u, c0, m, n, acc3);
}`;
