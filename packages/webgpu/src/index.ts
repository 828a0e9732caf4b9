/// <reference types="@webgpu/types" />
export { type GpuDeviceInfo, type RequestGpuDeviceOptions, requestGpuDevice } from './request-gpu-device';
export { WebGpuUnavailableError } from './webgpu-unavailable-error';
