// The GPU the tests run on: Dawn's Node bindings over the Vulkan driver chosen by software-adapter.ts.
import { create, globals } from 'webgpu';

let gpu: GPU | null = null;

/** navigator.gpu's equivalent in Node (one per test worker). */
export function testGpu(): GPU {
  if (gpu === null) {
    // GPUBufferUsage, GPUMapMode, GPUShaderStage, ... as in a browser.
    Object.assign(globalThis, globals);
    gpu = create([]);
  }
  return gpu;
}
