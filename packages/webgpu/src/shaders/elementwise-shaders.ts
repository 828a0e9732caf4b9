import type { DeviceBinaryOp, DeviceUnaryOp } from '@heed/tensor';

// Elementwise WGSL: one invocation per output element, 256 per workgroup, workgroups laid out in 2-D
// (x up to 65535) so a dispatch covers any size. Parameters travel in a read-only u32 array `p`.
// Infinities are tested on the bits (bitcast), never by comparison with a literal a compiler may fold.

/** Threads per workgroup of the elementwise kernels. */
export const ELEMENTWISE_WORKGROUP = 256;
/** Most axes a strided kernel reads (shapes are collapsed to this or fewer first). */
export const MAX_RANK = 8;

const HEADER = /* wgsl */ `
// Bit patterns in private variables: a constant expression cannot hold an infinity or a NaN.
var<private> POS_INF: u32 = 0x7f800000u;
var<private> NEG_INF: u32 = 0xff800000u;
var<private> NAN: u32 = 0x7fc00000u;
fn isPosInf(x: f32) -> bool { return bitcast<u32>(x) == POS_INF; }
fn isNegInf(x: f32) -> bool { return bitcast<u32>(x) == NEG_INF; }
// NaN on the bits too: a comparison x != x may be folded away, and the builtins' NaN results are unspecified.
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > POS_INF; }
fn elementIndex(wg: vec3u, nw: vec3u, lid: u32) -> u32 { return (wg.y * nw.x + wg.x) * ${ELEMENTWISE_WORKGROUP}u + lid; }
`;

/** WGSL helpers shared by the kernels (infinity tests on bits, the 2-D element index). */
export const WGSL_HEADER = HEADER;

const BINARY: Record<DeviceBinaryOp, string> = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  pow: 'powf(x, y)',
  maximum: 'select(x, y, y > x)',
  equal: 'select(0.0, 1.0, x == y)',
};

// Math.pow: negative bases with integer exponents keep their sign; other negative bases give NaN.
const POW = /* wgsl */ `
fn powf(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (x > 0.0) { return pow(x, y); }
  if (x == 0.0) { return select(bitcast<f32>(POS_INF), 0.0, y > 0.0); }
  if (fract(y) != 0.0) { return bitcast<f32>(NAN); }
  let r = exp2(y * log2(-x));
  return select(r, -r, (i32(y) & 1) != 0);
}
`;

/**
 * out[i] = a[aOffset + Σ idx_d aStride_d] (op) b[bOffset + Σ idx_d bStride_d] over the output shape.
 * p = [size, rank, aOffset, bOffset, shape[8], aStrides[8], bStrides[8]].
 */
export function binaryShader(op: DeviceBinaryOp): string {
  return /* wgsl */ `${HEADER}${POW}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> p: array<u32>;
fn f(x: f32, y: f32) -> f32 { return ${BINARY[op]}; }
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  var rest = i;
  var ia = p[2];
  var ib = p[3];
  for (var d = i32(p[1]) - 1; d >= 0; d--) {
    let size = p[4u + u32(d)];
    let index = rest % size;
    rest = rest / size;
    ia += index * p[12u + u32(d)];
    ib += index * p[20u + u32(d)];
  }
  out[i] = f(a[ia], b[ib]);
}`;
}

/** out[i] = x[offset + Σ idx_d stride_d]: permute, broadcast, slice. p = [size, rank, offset, 0, shape[8], strides[8]]. */
export const COPY_SHADER = /* wgsl */ `${HEADER}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  var rest = i;
  var at = p[2];
  for (var d = i32(p[1]) - 1; d >= 0; d--) {
    let size = p[4u + u32(d)];
    at += (rest % size) * p[12u + u32(d)];
    rest = rest / size;
  }
  out[i] = x[at];
}`;

const UNARY: Record<DeviceUnaryOp, string> = {
  neg: '-x',
  exp: 'exp(x)',
  log: 'logf(x)',
  tanh: 'tanhf(x)',
  sigmoid: '1.0 / (1.0 + exp(-x))',
  relu: 'select(0.0, x, x > 0.0)',
  sqrt: 'sqrt(x)',
  abs: 'abs(x)',
  step: 'select(0.0, 1.0, x > 0.0)',
  sign: 'sign(x)',
  finite: 'select(1.0, 0.0, isNegInf(x))',
};

/** The ops that give NaN for NaN, as Math does (relu, step and finite give 0, 0 and 1). */
const KEEPS_NAN: ReadonlySet<DeviceUnaryOp> = new Set(['neg', 'exp', 'log', 'tanh', 'sigmoid', 'sqrt', 'abs', 'sign']);

const UNARY_HELPERS = /* wgsl */ `
// tanh without overflow: sign(x)(1 − e^(−2|x|)) / (1 + e^(−2|x|)).
fn tanhf(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
// ln: −∞ at 0, NaN below (as Math.log), whatever the driver's log does there.
fn logf(x: f32) -> f32 {
  if (x == 0.0) { return bitcast<f32>(NEG_INF); }
  if (x < 0.0) { return bitcast<f32>(NAN); }
  return log(x);
}
`;

/** out[i] = op(x[i]). p = [size]. */
export function unaryShader(op: DeviceUnaryOp): string {
  return /* wgsl */ `${HEADER}${UNARY_HELPERS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<u32>;
fn f(x: f32) -> f32 { return ${UNARY[op]}; }
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  let v = x[i];
  out[i] = ${KEEPS_NAN.has(op) ? 'select(f(v), v, isNan(v))' : 'f(v)'};
}`;
}

/** out[i] = value (bits in p[1]). p = [size, bits]. */
export const FILL_SHADER = /* wgsl */ `${HEADER}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  out[i] = bitcast<f32>(p[1]);
}`;

/** target[targetOffset + o·targetStride + j] = source[o·width + j]. p = [outer·width, width, targetStride, targetOffset]. */
export const WRITE_BLOCKS_SHADER = /* wgsl */ `${HEADER}
@group(0) @binding(0) var<storage, read> source: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  let o = i / p[1];
  let j = i % p[1];
  dst[p[3] + o * p[2] + j] = source[i];
}`;

/**
 * out[i] = condition[…] ≠ 0 ? a[…] : b[…], each read through its offset and strides over the output shape.
 * p = [size, rank, cOffset, aOffset, bOffset, shape[8], cStrides[8], aStrides[8], bStrides[8]].
 */
export const WHERE_SHADER = /* wgsl */ `${HEADER}
@group(0) @binding(0) var<storage, read> condition: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  var rest = i;
  var ic = p[2];
  var ia = p[3];
  var ib = p[4];
  for (var d = i32(p[1]) - 1; d >= 0; d--) {
    let size = p[5u + u32(d)];
    let index = rest % size;
    rest = rest / size;
    ic += index * p[13u + u32(d)];
    ia += index * p[21u + u32(d)];
    ib += index * p[29u + u32(d)];
  }
  out[i] = select(b[ib], a[ia], condition[ic] != 0.0);
}`;
