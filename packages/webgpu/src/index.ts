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
