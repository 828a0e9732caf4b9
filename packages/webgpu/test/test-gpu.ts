// The GPU the tests run on: Dawn's Node bindings over the Vulkan driver chosen by software-adapter.ts.
import { create, globals } from 'webgpu';

let gpu: GPU | null = null;

/** navigator.gpu's equivalent in Node (one per test worker). */
export function testGpu(): GPU {
  if (gpu === null) {
    // GPUBufferUsage, GPUMapMode, GPUShaderStage, ... as in a browser.
    Object.assign(globalThis, globals);
    // Dawn zero-fills workgroup memory at the start of every dispatch by code that SwiftShader compiles element by
    // element (~4 ms per float: seconds for a kernel's tiles). The kernels never read workgroup memory they have
    // not written, so the tests turn that fill off (Chromium: --enable-dawn-features=disable_workgroup_init).
    gpu = create(['enable-dawn-features=disable_workgroup_init']);
  }
  return gpu;
}
