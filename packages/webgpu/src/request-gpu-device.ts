import { ArgumentError } from '@heed/tensor';
import { WebGpuUnavailableError } from './webgpu-unavailable-error';

export interface RequestGpuDeviceOptions {
  /** The WebGPU entry point: `navigator.gpu` by default; in Node, `create([])` of the `webgpu` package. */
  gpu?: GPU;
  /** Which adapter to prefer where there are several (passed to `requestAdapter`). */
  powerPreference?: GPUPowerPreference;
  /** Optional features to turn on where the adapter has them (e.g. 'shader-f16', 'subgroups', 'timestamp-query'). */
  optionalFeatures?: readonly GPUFeatureName[];
}

/** A device, the adapter it came from, and the optional features it was given. */
export interface GpuDeviceInfo {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly features: ReadonlySet<string>;
}

/**
 * A WebGPU device with the adapter's largest buffer and workgroup limits, and the optional features the
 * adapter has. Throws WebGpuUnavailableError (which names what is missing) where there is no WebGPU.
 */
export async function requestGpuDevice(options: RequestGpuDeviceOptions = {}): Promise<GpuDeviceInfo> {
  const op = 'requestGpuDevice';
  if (typeof options !== 'object' || options === null)
    throw new ArgumentError(`options must be an object, got ${String(options)}`, { op, argument: 'options' });
  const gpu = options.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (gpu === undefined || gpu === null || typeof gpu.requestAdapter !== 'function') {
    throw new WebGpuUnavailableError(
      'no WebGPU: navigator.gpu is missing (a browser without WebGPU, or Node: pass { gpu: create([]) } from the `webgpu` package)',
      { op, argument: 'options.gpu' },
    );
  }
  const adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  if (adapter === null) throw new WebGpuUnavailableError('requestAdapter() found no GPU adapter', { op, argument: 'options.gpu' });
  const wanted = options.optionalFeatures ?? [];
  const features = wanted.filter((name) => adapter.features.has(name));
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  return { device, adapter, features: new Set(features) };
}
