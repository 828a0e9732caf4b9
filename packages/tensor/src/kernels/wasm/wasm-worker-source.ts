import { SLOT_INTS, WORKER_ENTRIES } from './abi';

// A kernel worker: instantiates the threads build on the shared memory, then serves calls through its
// slot of the control block. It knows nothing of the ABI: the main thread sends the dispatch table
// (derived from abi.ts) with the module. Slot = Int32Array at control + index·SLOT_INTS·4:
//   [state, kind, args…]; state 0 idle → 1 (set by the main thread: run) → 2 done | 3 failed; −1 exit.

/** The first message a worker gets. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte address of the control block. */
  control: number;
  /** This worker's slot. */
  index: number;
  slotInts: number;
  /** Per kind: [entry point, argument types as 'f'/'i' per argument]. */
  entries: readonly (readonly [string, string])[];
}

/** The init message for worker `index` (the dispatch table and slot size come from the ABI description). */
export function workerInit(module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, index: number): WorkerInit {
  return { module, memory, control, index, slotInts: SLOT_INTS, entries: WORKER_ENTRIES };
}

// Coverage cannot see inside the workers (other isolates); the threads tests run every line of this.
/* v8 ignore start */
/**
 * The worker's loop. It runs inside the worker from its source text (see WORKER_SOURCE), so it uses
 * nothing but its arguments and globals: no imports, no closures, no inner functions.
 */
export function serveKernelCalls(init: WorkerInit, post: (message: string) => void): void {
  const kernels = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports as Record<
    string,
    (...args: number[]) => unknown
  >;
  const ints = new Int32Array(init.memory.buffer);
  const floats = new Float32Array(init.memory.buffer);
  const slot = (init.control >> 2) + init.index * init.slotInts;
  const args: number[] = [];
  post('ready');
  for (;;) {
    const state = Atomics.load(ints, slot);
    if (state === -1) return;
    if (state !== 1) {
      Atomics.wait(ints, slot, state); // idle, or done and not yet acknowledged
      continue;
    }
    const [name, types] = init.entries[ints[slot + 1]!]!;
    args.length = types.length;
    for (let i = 0; i < types.length; i++) args[i] = types[i] === 'f' ? floats[slot + 2 + i]! : ints[slot + 2 + i]!;
    try {
      kernels[name]!(...args);
      Atomics.store(ints, slot, 2);
    } catch {
      Atomics.store(ints, slot, 3);
    }
    Atomics.notify(ints, slot);
  }
}
/* v8 ignore stop */

/**
 * The source of a kernel worker: `serveKernelCalls` plus the start-up for Node's worker_threads (run as
 * `new Worker(src, { eval: true })`) or a classic Web Worker (from a Blob URL).
 */
export const WORKER_SOURCE = `'use strict';
var serve = ${serveKernelCalls.toString()};
if (typeof require === 'function') {
  var port = require('worker_threads').parentPort;
  port.once('message', function (init) { serve(init, function (m) { port.postMessage(m); }); });
} else {
  self.onmessage = function (event) { self.onmessage = null; serve(event.data, function (m) { self.postMessage(m); }); };
}
`;
