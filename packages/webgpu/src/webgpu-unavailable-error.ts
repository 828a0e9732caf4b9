import { HeedError } from '@heed/tensor';

/** No WebGPU here: no `navigator.gpu` (and none passed), no adapter, or the device was refused or lost. */
export class WebGpuUnavailableError extends HeedError {
  static override readonly errorName: string = 'WebGpuUnavailableError';
}
