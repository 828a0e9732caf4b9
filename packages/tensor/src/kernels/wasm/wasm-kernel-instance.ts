import type { WasmThreadPool } from './wasm-thread-pool';

// One instantiated WebAssembly kernel module and its memory. Operands are copied into the module's
// memory, the kernel runs there, and results are copied out (for products of any size worth
// speeding up, the copies cost a few percent: see scripts/measure-matmul.mjs).

/** What assembly/index.ts exports (byte addresses; booleans as 0/1). */
export interface WasmKernelExports {
  heapBase(): number;
  tileRows(): number;
  matmul(a: number, b: number, c: number, m: number, n: number, k: number, transA: number, transB: number, work: number): void;
  matmulRows(a: number, b: number, c: number, m: number, n: number, k: number, transA: number, transB: number, work: number, rowStart: number, rowEnd: number): void;
  matmulWorkBytes(): number;
  expInPlace(data: number, length: number): void;
  attentionForward(
    q: number, k: number, v: number, out: number, logSumExp: number, keep: number,
    n: number, Lq: number, Lk: number, d: number, dv: number, scale: number, causal: number, causalOffset: number,
    ks0: number, ks1: number, ks2: number, groupSize: number, qHeads: number, kvHeads: number, work: number, panelFirst: number, panelStep: number,
  ): void;
  attentionWorkBytes(Lk: number, d: number, dv: number): number;
  attentionBackward(
    q: number, k: number, v: number, out: number, logSumExp: number, dOut: number, dq: number, dk: number, dv: number, keep: number,
    n: number, Lq: number, Lk: number, d: number, dvSize: number, scale: number, causal: number, causalOffset: number,
    ks0: number, ks1: number, ks2: number, groupSize: number, qHeads: number, kvHeads: number, work: number, first: number, step: number,
  ): void;
  attentionBackwardWorkBytes(Lk: number, d: number, dv: number): number;
}

const PAGE = 65536;
/** wasm32 memories stop at 4 GiB (65536 pages). */
const MAX_BYTES = 65536 * PAGE;

/** Rounds a byte address up to a 64-byte (cache line) boundary. */
export function align64(address: number): number {
  return Math.ceil(address / 64) * 64;
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
  constructor(instance: WebAssembly.Instance, memory: WebAssembly.Memory, relaxedSimd: boolean, pool: WasmThreadPool | null = null, base?: number) {
    this.exports = instance.exports as unknown as WasmKernelExports;
    this.memory = memory;
    this.relaxedSimd = relaxedSimd;
    this.pool = pool;
    this.base = align64(base ?? this.exports.heapBase());
    this.tileRows = this.exports.tileRows();
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
    const { exports } = this;
    const at = this.base;
    const work = at + 4 * 65536;
    if (!this.reserve(work + Math.max(exports.matmulWorkBytes(), exports.attentionWorkBytes(256, 32, 32), exports.attentionBackwardWorkBytes(256, 32, 32)))) return;
    this.heap().fill(0, at >> 2, work >> 2);
    for (let i = 0; i < 8; i++) {
      exports.matmul(at, at + 32768, at + 65536, 64, 64, 128, i & 1, (i >> 1) & 1, work); //                 [64, 128] x [128, 64]
      exports.attentionForward(at, at + 32768, at + 65536, at + 131072, at + 196608, 0, 1, 32, 256, 32, 32, 0.2, i & 1, 0, 0, 0, 0, 1, 1, 1, work, 0, 1); // q [32, 32], k, v [256, 32]
      // q, out, dOut, dq [64, 32]; k, v, dk, dv [256, 32] (the zero log-sum-exp is only wrong, not harmful)
      exports.attentionBackward(at, at + 32768, at + 65536, at + 98304, at + 106496, at + 114688, at + 122880, at + 131072, at + 163840, 0, 1, 64, 256, 32, 32, 0.2, i & 1, 0, 0, 0, 0, 1, 1, 1, work, 0, 1);
    }
    exports.expInPlace(at, 1024);
  }

  /** A Float32Array over the whole memory (re-created after the memory grew). */
  heap(): Float32Array {
    if (this.view.length * 4 !== this.memory.buffer.byteLength) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }
}
