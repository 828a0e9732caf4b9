import { registerDevice } from '@heed/tensor';
import { WebGpuBackend } from './webgpu-backend';

export interface UseWebGpuOptions {
  /** The device name tensors on it carry (default 'webgpu'); another name registers a second GPU beside it. */
  name?: string;
}

/**
 * Registers `device` (from `requestGpuDevice()`) with `@heed/tensor` as the device 'webgpu': from then on
 * `toDevice(t, 'webgpu')` and `module.toDevice('webgpu')` put tensors there, and every op on them runs in WGSL
 * on that GPU. Registering again replaces the previous backend of that name. Returns the backend.
 */
export function useWebGpu(device: GPUDevice, options: UseWebGpuOptions = {}): WebGpuBackend {
  const backend = new WebGpuBackend(device, options.name ?? 'webgpu');
  registerDevice(backend);
  return backend;
}
