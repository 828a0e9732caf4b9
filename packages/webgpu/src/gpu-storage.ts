import type { DeviceStorage } from '@heed/tensor';

/** A tensor's values on the GPU: `size` float32s at the start of `buffer` (which may be larger: pooled). */
export class GpuStorage implements DeviceStorage {
  constructor(
    /** The backend's name ('webgpu'). */
    readonly device: string,
    readonly buffer: GPUBuffer,
    readonly size: number,
  ) {}
}
