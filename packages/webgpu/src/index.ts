/// <reference types="@webgpu/types" />
export { type GpuDeviceInfo, type RequestGpuDeviceOptions, requestGpuDevice } from './request-gpu-device';
export { WebGpuUnavailableError } from './webgpu-unavailable-error';
export {
  type AttentionBackwardBuffers,
  type AttentionEncodeOptions,
  type AttentionForwardBuffers,
  type AttentionKernels,
  type AttentionWeightsBackwardBuffers,
  type AttentionWeightsBuffers,
  createAttentionKernels,
  MAX_ATTENTION_HEAD_DIM,
} from './attention/create-attention-kernels';
export { useWebGpu } from './use-webgpu';
export type { UseWebGpuOptions } from './use-webgpu';
export { WebGpuBackend } from './webgpu-backend';
export type { GpuAttentionKernels } from './webgpu-backend';
export { GpuStorage } from './gpu-storage';
export { BufferPool } from './buffer-pool';
export { WebGpuError } from './webgpu-error';
