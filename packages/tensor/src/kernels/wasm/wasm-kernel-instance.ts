import { invoke, wasmCall, type WasmArguments, type WasmEntryName, type WasmKernelExports } from './abi';
import type { WasmThreadPool } from './wasm-thread-pool';

// One instantiated WebAssembly kernel module and its memory. Operands are copied into the module's
// memory, the kernel runs there, and results are copied out (for products of any size worth
// speeding up, the copies cost a few percent: see scripts/measure-matmul.mjs).

const PAGE = 65536;
/** wasm32 memories stop at 4 GiB (65536 pages). */
const MAX_BYTES = 65536 * PAGE;

/** Rounds a byte address up to a 64-byte (cache line) boundary. */
export function align64(address: number): number {
  return Math.ceil(address / 64) * 64;
}

/**
 * Byte addresses of float32 arrays of the given lengths laid out one after another from `base`, each on
 * a 64-byte boundary, followed by the address where the rest (work areas) starts.
 */
export function layOut(base: number, lengths: readonly number[]): number[] {
  const addresses = [align64(base)];
  for (const length of lengths) addresses.push(align64(addresses[addresses.length - 1]! + length * 4));
  return addresses;
}

export class WasmKernelInstance {
  readonly exports: WasmKernelExports;
  readonly memory: WebAssembly.Memory;
  /** Built with relaxed SIMD (fused multiply-add). */
  readonly relaxedSimd: boolean;
  /** Worker threads sharing `memory`, or null (one thread). */
  readonly pool: WasmThreadPool | null;
  /** First free byte: operands are laid out from here on every call. */
  readonly base: number;
  /** Rows of the matmul micro-tile (thread shares of a product start at multiples of it). */
  readonly tileRows: number;
  private view: Float32Array;

  /** `base` defaults to the module's heap base (with a pool, the caller reserves its control block first). */
  constructor(
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
    relaxedSimd: boolean,
    pool: WasmThreadPool | null = null,
    base?: number,
  ) {
    this.exports = instance.exports as unknown as WasmKernelExports;
    this.memory = memory;
    this.relaxedSimd = relaxedSimd;
    this.pool = pool;
    this.base = align64(base ?? this.call('heapBase', {}));
    this.tileRows = this.call('tileRows', {});
    this.view = new Float32Array(memory.buffer);
  }

  /**
   * Makes the memory at least `end` bytes long; false when it cannot grow that far (the caller then
   * falls back to the JS kernel). Invalidates earlier views: take `heap()` afterwards.
   */
  reserve(end: number): boolean {
    const memory = this.memory;
    const have = memory.buffer.byteLength;
    if (end > have) {
      if (end > MAX_BYTES) return false;
      try {
        memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        return false;
      }
    }
    return true;
  }

  /**
   * Runs the kernels a few times on small problems (≈ 5 ms), so V8 moves their hot functions from
   * its baseline compiler to the optimizing one before the first real call; without this, the first
   * dozen calls of a 128³ product run at a third of the speed. The result is thrown away.
   */
  warmUp(): void {
    const at = this.base;
    const work = at + 4 * 65536;
    const workBytes = Math.max(
      this.call('matmulWorkBytes', {}),
      this.call('attentionWorkBytes', { keyLength: 256, headDim: 32, valueDim: 32 }),
      this.call('attentionBackwardWorkBytes', { keyLength: 256, headDim: 32, valueDim: 32 }),
    );
    if (!this.reserve(work + workBytes)) return;
    this.heap().fill(0, at >> 2, work >> 2);
    // One problem of each kind, single-threaded: q [n, Lq, 32] at `at`, k, v [256, 32] after it (the
    // zero inputs and log-sum-exp are only wrong, not harmful: the results are thrown away).
    const problem = {
      n: 1,
      keyLength: 256,
      headDim: 32,
      valueDim: 32,
      scale: 0.2,
      causalOffset: 0,
      windowed: false,
      windowStart: 0,
      attentionMask: 0,
      variants: 0,
      maskSliceStride: 0,
      maskQueryStride: 0,
      maskKeyStride: 0,
    };
    const layout = { groupSize: 1, queryHeads: 1, keyHeads: 1, work, first: 0, step: 1 };
    for (let i = 0; i < 8; i++) {
      const [transposeA, transposeB, causal] = [(i & 1) === 1, (i & 2) === 2, (i & 1) === 1];
      this.call('matmul', {
        a: at,
        b: at + 32768,
        out: at + 65536,
        m: 64,
        n: 64,
        k: 128,
        transposeA,
        transposeB,
        bias: causal ? at : 0,
        work,
      }); // [64, 128] x [128, 64]
      this.call('attentionForward', {
        ...problem,
        ...layout,
        causal,
        queryLength: 32,
        q: at,
        k: at + 32768,
        v: at + 65536,
        out: at + 131072,
        logSumExp: at + 196608,
      });
      this.call('attentionBackward', {
        ...problem,
        ...layout,
        causal,
        queryLength: 64,
        q: at,
        k: at + 32768,
        v: at + 65536,
        out: at + 98304,
        logSumExp: at + 106496,
        dOut: at + 114688,
        dq: at + 122880,
        dk: at + 131072,
        dv: at + 163840,
      });
    }
    this.call('expInPlace', { data: at, length: 1024 });
  }

  /** Calls an entry point on this thread with named arguments (see abi.ts). */
  call<E extends WasmEntryName>(entry: E, args: WasmArguments<E>): number {
    return invoke(this.exports, wasmCall(entry, args)) ?? 0;
  }

  /** A Float32Array over the whole memory (re-created after the memory grew). */
  heap(): Float32Array {
    if (this.view.length * 4 !== this.memory.buffer.byteLength) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }
}
