import { ArgumentError } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { testGpu } from '../test/test-gpu';
import { requestGpuDevice } from './request-gpu-device';
import { WebGpuUnavailableError } from './webgpu-unavailable-error';

describe('requestGpuDevice', () => {
  it('gets a device from the software adapter, which runs a compute shader', async () => {
    const { device } = await requestGpuDevice({ gpu: testGpu() });
    const n = 100;
    const buffer = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(
      buffer,
      0,
      Float32Array.from({ length: n }, (_, i) => i),
    );
    const module = device.createShaderModule({
      code: `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < arrayLength(&x)) { x[g.x] = 2.0 * x[g.x] + 1.0; } }`,
    });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const readback = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] }),
    );
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, n * 4);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const got = Array.from(new Float32Array(readback.getMappedRange()));
    expect(got).toEqual(Array.from({ length: n }, (_, i) => 2 * i + 1));
    readback.unmap();
    device.destroy();
  });

  it('asks only for optional features the adapter has', async () => {
    const { device, adapter, features } = await requestGpuDevice({ gpu: testGpu(), optionalFeatures: ['shader-f16', 'timestamp-query'] });
    for (const name of features) expect(adapter.features.has(name)).toBe(true);
    for (const name of ['shader-f16', 'timestamp-query']) expect(features.has(name)).toBe(adapter.features.has(name));
    device.destroy();
  });

  it('says what is missing where there is no WebGPU', async () => {
    await expect(requestGpuDevice({})).rejects.toThrow(WebGpuUnavailableError);
    await expect(requestGpuDevice({})).rejects.toThrow(/requestGpuDevice: no WebGPU: navigator.gpu is missing/);
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(requestGpuDevice({ gpu: noAdapter })).rejects.toThrow(/requestAdapter\(\) found no GPU adapter/);
    const refused = requestGpuDevice(null as never);
    await expect(refused).rejects.toThrow(ArgumentError);
    await expect(refused).rejects.toMatchObject({ op: 'requestGpuDevice', argument: 'options' });
  });
});
