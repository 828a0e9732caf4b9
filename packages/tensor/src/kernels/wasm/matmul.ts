import type { MatmulKernel } from '../matmul';
import { matmulKernelJs } from '../js/matmul';
import { invoke, wasmCall, type WasmCall } from './abi';
import { align64, layOut, type WasmKernelInstance } from './wasm-kernel-instance';

/** Below this many multiply-adds a product stays on one thread (waking a worker costs ~10-50 µs). */
const THREAD_MIN_MACS = 1 << 20;

/**
 * The matmul seam on the WebAssembly SIMD kernel: op(A), op(B) and the bias are copied into the module's
 * memory as stored (packing reads them transposed or not), multiplied there with float32 accumulation
 * (register-blocked micro-kernel over packed panels; the bias is where each tile's sums start), and out
 * is copied back. With a thread pool,
 * large products are split into contiguous row blocks, one per thread, each with its own work area.
 * Falls back to the JS kernel only when the memory cannot grow to hold the operands.
 */
export function createMatmulKernelWasm(wasm: WasmKernelInstance): MatmulKernel {
  const { pool, tileRows } = wasm;
  const workBytes = align64(wasm.call('matmulWorkBytes', {}));
  return (a, aOffset, b, bOffset, out, outOffset, m, n, k, transposeA, transposeB, bias) => {
    if (m === 0 || n === 0) return;
    const aSize = m * k;
    const bSize = k * n;
    const outSize = m * n;
    const biasSize = bias ? n : 0;
    const tiles = Math.ceil(m / tileRows);
    const threads = pool && m * n * k >= THREAD_MIN_MACS ? Math.min(pool.size, tiles) : 1;
    // A [m, k] (or stored [k, m]), B [k, n] (or stored [n, k]), out [m, n], bias [n] (the work areas after it
    // give the 28 bytes the kernel may read past it), then packed panels: one work area per thread
    const [aAt, bAt, outAt, biasAt, workAt] = layOut(wasm.base, [aSize, bSize, outSize, biasSize]) as [
      number,
      number,
      number,
      number,
      number,
    ];
    if (!wasm.reserve(workAt + threads * workBytes)) {
      matmulKernelJs(a, aOffset, b, bOffset, out, outOffset, m, n, k, transposeA, transposeB, bias);
      return;
    }
    const heap = wasm.heap();
    heap.set(a.subarray(aOffset, aOffset + aSize), aAt >> 2);
    heap.set(b.subarray(bOffset, bOffset + bSize), bAt >> 2);
    if (bias) heap.set(bias.subarray(0, n), biasAt >> 2);
    const product = { a: aAt, b: bAt, out: outAt, m, n, k, transposeA, transposeB, bias: bias ? biasAt : 0 };
    if (threads === 1 || !pool) {
      wasm.call('matmul', { ...product, work: workAt });
    } else {
      const rowsPerThread = Math.ceil(tiles / threads) * tileRows;
      const shares: WasmCall[] = [];
      for (let t = 0; t * rowsPerThread < m; t++) {
        shares.push(
          wasmCall('matmulRows', {
            ...product,
            work: workAt + t * workBytes,
            rowStart: t * rowsPerThread,
            rowEnd: Math.min(m, (t + 1) * rowsPerThread),
          }),
        );
      }
      pool.run(shares, (call) => void invoke(wasm.exports, call));
    }
    out.set(wasm.heap().subarray(outAt >> 2, (outAt >> 2) + outSize), outOffset);
  };
}
