import { HeedError } from '@heed/tensor';

/** The GPU refused work heed queued (a shader that did not compile, a buffer too large, a lost device). */
export class WebGpuError extends HeedError {
  static override readonly errorName: string = 'WebGpuError';
}
