// One instantiated WebAssembly kernel module and its memory. Operands are copied into the module's
// memory, the kernel runs there, and results are copied out (for products of any size worth
// speeding up, the copies cost a few percent: see scripts/measure-matmul.mjs).

/** What assembly/index.ts exports (byte addresses; booleans as 0/1). */
export interface WasmKernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  matmul(a: number, b: number, c: number, m: number, n: number, k: number, transA: number, transB: number, work: number): void;
  matmulWorkBytes(): number;
  expInPlace(data: number, length: number): void;
  attentionForward(
    q: number, k: number, v: number, out: number, logSumExp: number, keep: number,
    n: number, Lq: number, Lk: number, d: number, dv: number, scale: number, causal: number, causalOffset: number,
    ks0: number, ks1: number, ks2: number, groupSize: number, work: number,
  ): void;
  attentionWorkBytes(Lk: number, d: number, dv: number): number;
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
  /** Built with relaxed SIMD (fused multiply-add). */
  readonly relaxedSimd: boolean;
  /** First free byte: operands are laid out from here on every call. */
  readonly base: number;
  private view: Float32Array;

  constructor(instance: WebAssembly.Instance, relaxedSimd: boolean) {
    this.exports = instance.exports as unknown as WasmKernelExports;
    this.relaxedSimd = relaxedSimd;
    this.base = this.exports.heapBase();
    this.view = new Float32Array(this.exports.memory.buffer);
  }

  /**
   * Makes the memory at least `end` bytes long; false when it cannot grow that far (the caller then
   * falls back to the JS kernel). Invalidates earlier views: take `heap()` afterwards.
   */
  reserve(end: number): boolean {
    const memory = this.exports.memory;
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

  /** A Float32Array over the whole memory (re-created after the memory grew). */
  heap(): Float32Array {
    if (this.view.buffer !== this.exports.memory.buffer) this.view = new Float32Array(this.exports.memory.buffer);
    return this.view;
  }
}
