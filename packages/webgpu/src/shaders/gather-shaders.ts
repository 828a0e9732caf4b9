import { ELEMENTWISE_WORKGROUP, WGSL_HEADER } from './elementwise-shaders';

// Gather and its gradient. The positions are computed on the host (the indices are host data) and travel as
// u32s. The gradient sums without atomics (WGSL has none on f32): the host groups the outputs by the position
// they read (a counting sort: `starts`, then the outputs of each position in increasing order), and one
// invocation per position of x sums its own outputs in that order, as the CPU loop does.

/** out[i] = x[source[i]]. p = [size]. */
export const GATHER_SHADER = /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> source: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  out[i] = x[source[i]];
}`;

/**
 * out[j] = Σ g[order[k]] for k in [starts[j], starts[j + 1]): the outputs that read position j, in increasing
 * order. p = [size of out].
 */
export const SCATTER_ADD_SHADER = /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> starts: array<u32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = elementIndex(wg, nw, lid);
  if (j >= p[0]) { return; }
  var total = 0.0;
  for (var k = starts[j]; k < starts[j + 1u]; k++) { total += g[order[k]]; }
  out[j] = total;
}`;

/** The outputs grouped by the position they read: starts [size + 1] and order [source.length] (a counting sort). */
export function groupByPosition(source: Int32Array, size: number): { starts: Uint32Array; order: Uint32Array } {
  const starts = new Uint32Array(size + 1);
  for (let i = 0; i < source.length; i++) starts[source[i]! + 1]!++;
  for (let j = 0; j < size; j++) starts[j + 1]! += starts[j]!;
  const next = starts.slice(0, size);
  const order = new Uint32Array(source.length);
  for (let i = 0; i < source.length; i++) order[next[source[i]!]!++] = i;
  return { starts, order };
}
