import { ArgumentError } from '../../errors/argument-error';
import { registerKernelSet, unregisterKernelSet, useKernelSet } from '../registry';
import { wasmKernelSet } from './kernel-set';
import { loadWasmKernels, type LoadWasmKernelsOptions } from './load-wasm-kernels';
import type { WasmKernelInstance } from './wasm-kernel-instance';

export type UseWasmKernelsOptions = LoadWasmKernelsOptions;

/** What useWasmKernels() switched on: the build that was instantiated and the threads it runs on. */
export interface WasmKernelsInfo {
  /** `'relaxed'`: the relaxed-SIMD build (fused multiply-add); `'plain'`: the SIMD-128 build. */
  simd: 'relaxed' | 'plain';
  /** Threads the kernels split large products over, the calling one included (1: no worker threads). */
  threads: number;
}

/** The most threads useWasmKernels() accepts (the calling one included). */
const MAX_WASM_THREADS = 64;

/** Whether the "threads could not start" warning was printed already (it is printed once). */
let warnedThreads = false;

/**
 * Switches matmul and the fused attention (forward and backward) to WebAssembly SIMD kernels (float32
 * accumulation; results differ from the JS kernels' float64 sums in the last bits). Resolves to what
 * runs — `{ simd: 'relaxed' | 'plain', threads }`, read from the module actually instantiated — or to
 * false (keeping the current kernels) where WebAssembly SIMD is unavailable. Call once at start-up;
 * `useJsKernels()` switches back.
 *
 *   await useWasmKernels();                 // { simd: 'relaxed', threads: 1 } where relaxed SIMD validates
 *   await useWasmKernels({ threads: 2 });   // also split large products over 2 threads (opt-in)
 *
 * Threads need shared memory and workers (Node; in browsers a cross-origin isolated page). Where they
 * cannot start, the kernels run on one thread, `threads` says 1, and a console warning (once) says why.
 * The kernels are compiled asynchronously, so this is fine on a browser's main thread.
 * Throws ArgumentError (changing nothing) for options that are not what the types say: `threads` must
 * be an integer in [1, MAX_WASM_THREADS], `relaxedSimd` a boolean.
 */
export async function useWasmKernels(options: UseWasmKernelsOptions = {}): Promise<WasmKernelsInfo | false> {
  const { relaxedSimd, threads } = checkOptions(options);
  const wasm = await loadWasmKernels({ relaxedSimd, threads });
  if (!wasm) return false;
  const set = wasmKernelSet(wasm);
  registerKernelSet(set); // replaces (and disposes) a 'wasm' set of other options
  useKernelSet(set.name);
  const info: WasmKernelsInfo = { simd: wasm.relaxedSimd ? 'relaxed' : 'plain', threads: wasm.pool?.size ?? 1 };
  if (threads > 1 && info.threads < threads && !warnedThreads) {
    warnedThreads = true;
    console.warn(`useWasmKernels: asked for ${threads} threads, running on ${info.threads}: ${whyNoThreads(wasm)}`);
  }
  return info;
}

/** Puts the plain TypeScript kernels back in use (kernels installed with `setKernels` stay) and stops the WebAssembly workers. */
export function useJsKernels(): void {
  unregisterKernelSet('wasm');
  useKernelSet('js');
}

function checkOptions(options: unknown): { relaxedSimd: boolean; threads: number } {
  const op = 'useWasmKernels';
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ArgumentError(`options must be an object like { threads: 2 }, got ${describe(options)}`, { op, argument: 'options' });
  }
  const known = ['relaxedSimd', 'threads'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new ArgumentError(`unknown option '${key}' (known: ${known.join(', ')})`, { op, argument: key });
  }
  const { relaxedSimd = true, threads = 1 } = options as UseWasmKernelsOptions;
  if (typeof relaxedSimd !== 'boolean') {
    throw new ArgumentError(`relaxedSimd must be true or false, got ${describe(relaxedSimd)}`, { op, argument: 'relaxedSimd' });
  }
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new ArgumentError(
      `threads must be an integer from 1 to ${MAX_WASM_THREADS} (the calling thread included), got ${describe(threads)}`,
      {
        op,
        argument: 'threads',
      },
    );
  }
  return { relaxedSimd, threads };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'an array';
  return String(value);
}

/** Why more than one thread could not start, as far as this engine tells. */
function whyNoThreads(wasm: WasmKernelInstance): string {
  const scope = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown; process?: { versions?: { node?: string } } };
  if (scope.crossOriginIsolated === false) {
    return 'the page is not cross-origin isolated, so it has no shared memory (serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (typeof SharedArrayBuffer !== 'function') return 'this engine has no SharedArrayBuffer (no shared WebAssembly memory)';
  if (!(wasm.memory.buffer instanceof SharedArrayBuffer)) return 'this engine could not create a shared WebAssembly memory';
  if (typeof scope.process?.versions?.node !== 'string' && typeof scope.Worker !== 'function') return 'this engine has no Worker';
  return 'the worker threads did not start';
}
