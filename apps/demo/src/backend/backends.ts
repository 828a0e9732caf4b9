import { useJsKernels, useWasmKernels, wasmSimdSupported } from '@heed/tensor';
import { requestGpuDevice, useWebGpu } from '@heed/webgpu';

// The kernel sets the page can run heed on. Each is one entry: a third (WebGPU, from @heed/webgpu) is one
// more object in BACKENDS, and the switch, the worker and the timing pick it up.

export interface Backend {
  /** Stable id, sent to the training worker. */
  readonly id: string;
  /** The switch's label. */
  readonly label: string;
  /** Why it cannot run in this browser, or null when it can. */
  unavailable(): string | null;
  /** Makes heed's ops in this thread (page or worker) run on it; resolves to what runs, in words. */
  activate(): Promise<string>;
  /** The device a model moves to for training on it ('webgpu'); absent: the CPU, with the kernels above. */
  readonly device?: string;
}

export const BACKENDS: readonly Backend[] = [
  {
    id: 'js',
    label: 'JS',
    unavailable: () => null,
    activate: async () => {
      useJsKernels();
      return 'plain TypeScript kernels';
    },
  },
  {
    id: 'wasm',
    label: 'WASM',
    unavailable: () => (wasmSimdSupported() ? null : 'this browser has no WebAssembly SIMD'),
    activate: async () => {
      const info = await useWasmKernels();
      if (!info) throw new Error('WebAssembly SIMD kernels could not start here');
      return `WebAssembly SIMD kernels (${info.simd === 'relaxed' ? 'relaxed SIMD, fused multiply-add' : 'SIMD-128'}, ${info.threads} thread${info.threads > 1 ? 's' : ''})`;
    },
  },
  {
    id: 'webgpu',
    label: 'WebGPU',
    device: 'webgpu',
    unavailable: () => (typeof navigator !== 'undefined' && 'gpu' in navigator ? null : 'this browser has no WebGPU (navigator.gpu)'),
    activate: async () => {
      // the adapter may still be missing (a blocklisted GPU, a headless browser): requestGpuDevice says so
      const { device, adapter } = await requestGpuDevice();
      useWebGpu(device);
      const info = await useWasmKernels(); // what stays on the CPU (the page's panels, decoding) runs on WASM
      const name = [adapter.info.vendor, adapter.info.architecture].filter((s) => s !== '').join(' ') || 'an adapter';
      return `WebGPU on ${name} (training on the GPU; the rest on ${info ? 'WebAssembly SIMD' : 'plain TypeScript'} kernels)`;
    },
  },
];

/** The backend with this id; an unknown id is a programming error, said with the known ids. */
export function backendById(id: string): Backend {
  const backend = BACKENDS.find((b) => b.id === id);
  if (!backend) throw new Error(`unknown backend '${id}' (known: ${BACKENDS.map((b) => b.id).join(', ')})`);
  return backend;
}

/**
 * The backend the page starts on: the last one in BACKENDS this browser runs (the most specialised; which is
 * fastest depends on the model and the machine, hence the timing). `except`: backends that failed to start.
 */
export function defaultBackend(except: readonly Backend[] = []): Backend {
  return [...BACKENDS].reverse().find((b) => b.unavailable() === null && !except.includes(b)) ?? BACKENDS[0]!;
}

type Listener = (backend: Backend) => void;
let current: Backend | null = null;
const listeners = new Set<Listener>();

/** The backend the page runs on now (null until the first switch resolves). */
export function currentBackend(): Backend | null {
  return current;
}

/** Switches the page's kernels; resolves to what runs, in words, and tells every listener. */
export async function switchBackend(backend: Backend): Promise<string> {
  const why = backend.unavailable();
  if (why !== null) throw new Error(`${backend.label} cannot run here: ${why}`);
  const description = await backend.activate();
  current = backend;
  for (const listener of listeners) listener(backend);
  return description;
}

/** Calls `listener` after every switch; returns the unsubscribe. */
export function onBackendChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
