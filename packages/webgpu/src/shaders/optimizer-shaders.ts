import { ELEMENTWISE_WORKGROUP, WGSL_HEADER } from './elementwise-shaders';

// Optimizer steps, one invocation per parameter element, updating θ and the optimizer state in place.

/**
 * Adam / AdamW (PyTorch's update): g (+ λθ unless decoupled; θ·(1 − lr·λ) when decoupled), m ← β₁m + (1 − β₁)g,
 * v ← β₂v + (1 − β₂)g², θ ← θ − (lr / c1)·m / (√(v / c2) + ε).
 * p = [size, decoupled, lr, β₁, β₂, ε, λ, c1, c2] (floats as bits).
 */
export const ADAM_SHADER = /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read_write> theta: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  let lr = bitcast<f32>(p[2]);
  let beta1 = bitcast<f32>(p[3]);
  let beta2 = bitcast<f32>(p[4]);
  let eps = bitcast<f32>(p[5]);
  let weightDecay = bitcast<f32>(p[6]);
  let c1 = bitcast<f32>(p[7]);
  let c2 = bitcast<f32>(p[8]);
  var t = theta[i];
  var g = grad[i];
  if (p[1] == 1u) { t = t * (1.0 - lr * weightDecay); } else { g += weightDecay * t; }
  let mi = beta1 * m[i] + (1.0 - beta1) * g;
  let vi = beta2 * v[i] + (1.0 - beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  theta[i] = t - ((lr / c1) * mi) / (sqrt(vi / c2) + eps);
}`;

/**
 * SGD with momentum (PyTorch's): g ← g + λθ; b ← first ? g : μb + (1 − τ)g; θ ← θ − lr·(nesterov ? g + μb : b).
 * Without momentum (no buffer bound: p[1] = 0) θ ← θ − lr·g. p = [size, hasBuffer, first, nesterov, lr, μ, τ, λ].
 */
export const SGD_SHADER = /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read_write> theta: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> buffer: array<f32>;
@group(0) @binding(3) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  let lr = bitcast<f32>(p[4]);
  let momentum = bitcast<f32>(p[5]);
  let dampening = bitcast<f32>(p[6]);
  let weightDecay = bitcast<f32>(p[7]);
  var g = grad[i] + weightDecay * theta[i];
  if (p[1] == 1u) {
    let b = select(momentum * buffer[i] + (1.0 - dampening) * g, g, p[2] == 1u);
    buffer[i] = b;
    g = select(b, g + momentum * b, p[3] == 1u);
  }
  theta[i] = theta[i] - lr * g;
}`;
