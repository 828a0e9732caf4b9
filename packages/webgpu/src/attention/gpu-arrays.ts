// Test support: float32 arrays to GPU buffers and back (used by the attention kernels' tests).

/** A storage buffer holding `data` (usable as a kernel input or output, and copied back by `readFloats`). */
export function uploadFloats(device: GPUDevice, data: Float32Array): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(4, data.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    mappedAtCreation: true,
  });
  new Float32Array(buffer.getMappedRange()).set(data);
  buffer.unmap();
  return buffer;
}

/** The first `length` float32 values of a storage buffer, after the work submitted so far. */
export async function readFloats(device: GPUDevice, buffer: GPUBuffer, length: number): Promise<Float32Array> {
  const bytes = Math.max(4, length * 4);
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0, length * 4));
  staging.unmap();
  staging.destroy();
  return values;
}
