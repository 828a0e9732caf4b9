// What the browser page (page.ts) hands back to the test (src/browser-route.test.ts): plain JSON.

/** One comparison of a WebGPU result with the same computation on the CPU (the JS kernels), in the page. */
export interface RouteCheck {
  /** What was compared, e.g. 'attention dq'. */
  readonly name: string;
  /** How many values were compared (the CPU's count; the GPU's must match). */
  readonly size: number;
  /** max over i of |gpu[i] − cpu[i]| / max(1, |cpu[i]|): absolute below 1, relative above. */
  readonly maxError: number;
  /** max over i of |gpu[i] − cpu[i]|. */
  readonly maxAbsError: number;
  /** GPU values that are NaN or infinite where the CPU's are finite (must be 0). */
  readonly nonFinite: number;
  /** Whether the two shapes were equal (false: maxError is Infinity). */
  readonly sameShape: boolean;
  /**
   * PyTorch fixtures only: max over i of |gpu[i] − ref[i]| / (atol + rtol·|ref[i]|) under the fixture file's float32
   * rule (its `tolerance.float32_implementation`); the rule holds when this is ≤ 1.
   */
  readonly ruleFraction?: number;
}

/** A variant the WebGPU backend refused (a DeviceError) instead of running it. */
export interface RouteRefusal {
  /** The fixture, e.g. 'attention_sinks_gptoss'. */
  readonly name: string;
  /** The error's name (must be 'DeviceError'). */
  readonly error: string;
  readonly message: string;
}

/** The adapter the page got from navigator.gpu. */
export interface RouteAdapter {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter: boolean | null;
  readonly subgroupMinSize: number | null;
  readonly subgroupMaxSize: number | null;
  readonly features: readonly string[];
  /** The optional features requestGpuDevice turned on for the device. */
  readonly deviceFeatures: readonly string[];
}

export interface RouteResult {
  readonly userAgent: string;
  readonly adapter: RouteAdapter;
  /** The CPU reference's kernel set (must be 'js'). */
  readonly cpuKernelSet: string;
  /** Where the GPU side's tensors lived (must all be 'webgpu'). */
  readonly gpuDevices: readonly string[];
  readonly checks: readonly RouteCheck[];
  /** Variants the GPU refused with a DeviceError (the others are compared in `checks`). */
  readonly refusals: readonly RouteRefusal[];
  /** Messages of the device's 'uncapturederror' events (must be none). */
  readonly uncapturedErrors: readonly string[];
  readonly milliseconds: number;
}

/** The name under which page.ts puts its entry point on globalThis. */
export const ROUTE_ENTRY = 'heedBrowserRoute';
