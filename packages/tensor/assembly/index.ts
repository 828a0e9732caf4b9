// The WebAssembly kernels of @heed/tensor (AssemblyScript, SIMD-128). scripts/build-wasm.mjs builds
// them four ways (plain or relaxed SIMD, own or shared memory) into src/kernels/wasm/wasm-bytes.ts.
// All addresses are byte offsets into the module's memory; the JS side lays operands out from heapBase().
export { matmul, matmulRows, matmulWorkBytes, heapBase, tileRows } from './matmul';
export { expInPlace, expNonPositiveInPlace } from './exp';
export { attentionForward, attentionWorkBytes } from './attention';
export { attentionBackward, attentionBackwardWorkBytes } from './attention-backward';
