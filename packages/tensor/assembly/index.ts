// The WebAssembly kernels of @heed/tensor (AssemblyScript, SIMD-128). Built by scripts/build-wasm.mjs
// into src/kernels/wasm/wasm-bytes.ts; all addresses are byte offsets into this module's memory.
export { matmul, matmulWorkBytes, heapBase } from './matmul';
export { expInPlace } from './exp';
export { attentionForward, attentionWorkBytes } from './attention';
