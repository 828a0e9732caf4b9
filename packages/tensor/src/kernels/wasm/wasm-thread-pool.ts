import { packCall, SLOT_INTS, type WasmCall } from './abi';
import { WORKER_SOURCE, workerInit, type WorkerInit } from './wasm-worker-source';

// Worker threads (Node's worker_threads or Web Workers) running the threads build of the kernels on
// one shared WebAssembly memory. The kernel seam is synchronous, so a job is: post the workers' shares
// through the control block, run share 0 on the calling thread, wait for the others (Atomics.wait
// where the thread may block — Node, workers — else a spin on Atomics.load: a browser's main thread).

/** Bytes of the control block: a slot (see abi.ts) for each of up to 64 workers. */
export const CONTROL_BYTES = 64 * SLOT_INTS * 4;

/** Workers started and not yet terminated, over every pool of this thread. */
let liveWorkers = 0;

/** How many kernel workers are running now (every pool). */
export function liveWorkerCount(): number {
  return liveWorkers;
}

interface AnyWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

function isNode(): boolean {
  return (
    typeof process === 'object' && process !== null && typeof process.versions === 'object' && typeof process.versions.node === 'string'
  );
}

/** Starts one worker and resolves when it has instantiated the module on the shared memory. */
async function startWorker(init: WorkerInit): Promise<AnyWorker> {
  if (isNode()) {
    // A non-literal specifier: bundlers for browsers leave this import alone (it never runs there).
    const specifier = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as typeof import('node:worker_threads');
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref(); // idle workers never keep the process alive
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.postMessage(init);
    });
    return worker;
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  try {
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (event) => reject(new Error(`kernel worker failed to start: ${event.message}`));
      worker.postMessage(init);
    });
  } finally {
    URL.revokeObjectURL(url);
  }
  worker.onmessage = null;
  worker.onerror = null;
  return worker;
}

export class WasmThreadPool {
  /** Threads in all, the calling one included. */
  readonly size: number;
  private readonly ints: Int32Array;
  private readonly floats: Float32Array;
  private readonly control: number;
  private readonly canBlock: boolean;
  private workers: AnyWorker[];

  private constructor(memory: WebAssembly.Memory, control: number, workers: AnyWorker[]) {
    this.ints = new Int32Array(memory.buffer);
    this.floats = new Float32Array(memory.buffer);
    this.control = control;
    this.workers = workers;
    this.size = workers.length + 1;
    let canBlock = true;
    try {
      Atomics.wait(this.ints, control >> 2, -12345, 0); // "not-equal" at once where waiting is allowed
    } catch {
      canBlock = false; // a browser's main thread
    }
    this.canBlock = canBlock;
  }

  /**
   * Starts `threads − 1` workers on the shared `memory` (the control block at byte `control`); null
   * where shared memory or workers are unavailable (e.g. a page that is not cross-origin isolated).
   */
  static async create(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    control: number,
    threads: number,
  ): Promise<WasmThreadPool | null> {
    if (typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
    if (!isNode() && typeof Worker !== 'function') return null;
    const ints = new Int32Array(memory.buffer, control, CONTROL_BYTES / 4);
    ints.fill(0);
    const count = Math.max(0, Math.min(64, Math.floor(threads) - 1));
    const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => startWorker(workerInit(module, memory, control, i))));
    const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (workers.length < count) {
      for (const w of workers) void w.terminate();
      return null;
    }
    liveWorkers += workers.length;
    return new WasmThreadPool(memory, control, workers);
  }

  /**
   * Runs shares 1… on the workers and share 0 with `runHere` on the calling thread; returns when all
   * are done. At most `size` shares.
   */
  run(shares: readonly WasmCall[], runHere: (call: WasmCall) => void): void {
    if (this.workers.length === 0 && shares.length > 1) throw new Error('WasmThreadPool.run: the pool was terminated');
    const { ints, floats } = this;
    const posted: number[] = [];
    for (let w = 1; w < shares.length; w++) {
      const slot = (this.control >> 2) + (w - 1) * SLOT_INTS;
      packCall(ints, floats, slot, shares[w]!);
      Atomics.store(ints, slot, 1);
      Atomics.notify(ints, slot);
      posted.push(slot);
    }
    let failed = false;
    try {
      if (shares.length > 0) runHere(shares[0]!);
    } finally {
      for (const slot of posted) {
        let state: number;
        while ((state = Atomics.load(ints, slot)) === 1) {
          if (this.canBlock) Atomics.wait(ints, slot, 1);
        }
        if (state === 3) failed = true;
        Atomics.store(ints, slot, 0);
      }
    }
    if (failed) throw new Error('a WebAssembly kernel worker failed');
  }

  /** Whether `terminate` has run (the workers are gone). */
  get terminated(): boolean {
    return this.workers.length === 0 && this.size > 1;
  }

  /** Stops the workers (idempotent). */
  terminate(): void {
    liveWorkers -= this.workers.length;
    for (let w = 0; w < this.workers.length; w++) {
      const slot = (this.control >> 2) + w * SLOT_INTS;
      Atomics.store(this.ints, slot, -1);
      Atomics.notify(this.ints, slot);
      void this.workers[w]!.terminate();
    }
    this.workers = [];
  }
}
