import type { DeviceFiniteCheck } from '@heed/tensor';
import { ELEMENTWISE_WORKGROUP, WGSL_HEADER } from './shaders/elementwise-shaders';

/**
 * Flags the first NaN or ±∞ (−∞ passes when allowed) of x viewed as [outer, L, inner], positions l ≥ from only:
 * atomicMin of its flat index into `first` (which starts at 0xffffffff). p = [size, L, inner, from, allowNegativeInfinity].
 */
const FINITE_CHECK_SHADER = /* wgsl */ `${WGSL_HEADER}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> first: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> p: array<u32>;
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wg, nw, lid);
  if (i >= p[0]) { return; }
  if ((i / p[2]) % p[1] < p[3]) { return; }
  let bits = bitcast<u32>(x[i]);
  let nonFinite = (bits & 0x7fffffffu) >= POS_INF;
  if (nonFinite && !(p[4] == 1u && bits == NEG_INF)) { atomicMin(&first[0], i); }
}`;

/** Most workgroups along one dispatch dimension. */
const MAX_GROUPS = 65535;

/**
 * The NaN / ±∞ checks of device inputs (`DeviceBackend.checkFinite`): each queued as a dispatch that flags the first
 * offending index in a buffer of its own; `settle` (the backend's next read) reads the flags of every check queued
 * since and throws the first failed check's error.
 */
export class FiniteChecks {
  readonly #device: GPUDevice;
  #pipeline: GPUComputePipeline | null = null;
  #pending: { flag: GPUBuffer; check: DeviceFiniteCheck }[] = [];

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Queues the check of `x` (size floats) after the work queued so far. */
  queue(x: GPUBuffer, size: number, check: DeviceFiniteCheck): void {
    if (size === 0) return;
    const device = this.#device;
    this.#pipeline ??= device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: FINITE_CHECK_SHADER }), entryPoint: 'main' },
    });
    const flag = device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    new Uint32Array(flag.getMappedRange()).fill(0xffffffff);
    flag.unmap();
    const params = device.createBuffer({ size: 5 * 4, usage: GPUBufferUsage.STORAGE, mappedAtCreation: true });
    new Uint32Array(params.getMappedRange()).set([size, check.L, check.inner, check.from, check.allowNegativeInfinity ? 1 : 0]);
    params.unmap();
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.#pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: this.#pipeline.getBindGroupLayout(0),
        entries: [x, flag, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    const groups = Math.ceil(size / ELEMENTWISE_WORKGROUP);
    pass.dispatchWorkgroups(Math.min(groups, MAX_GROUPS), Math.ceil(groups / MAX_GROUPS), 1);
    pass.end();
    device.queue.submit([encoder.finish()]);
    params.destroy(); // after the submission that uses it: freed once that work is done
    this.#pending.push({ flag, check });
  }

  /** Reads the flags of the checks queued so far; throws the first failed check's error (naming the call). */
  async settle(): Promise<void> {
    const pending = this.#pending.splice(0);
    if (pending.length === 0) return;
    const device = this.#device;
    const staging = device.createBuffer({ size: pending.length * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    pending.forEach(({ flag }, i) => encoder.copyBufferToBuffer(flag, 0, staging, i * 4, 4));
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const first = new Uint32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    for (const { flag } of pending) flag.destroy();
    const failed = pending.findIndex((_, i) => first[i] !== 0xffffffff);
    if (failed >= 0) throw pending[failed]!.check.error(first[failed]!);
  }
}
