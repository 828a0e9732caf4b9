import { afterEach, describe, expect, test } from 'vitest';
import { matmul } from '../../ops/matmul';
import { tensor } from '../../creation';
import { attentionBackwardJs, attentionForwardJs } from '../js/attention';
import { matmulKernelJs } from '../js/matmul';
import { getKernels, plainKernels, setKernels } from '../registry';
import { wasmSimdSupported } from './load-wasm-kernels';
import { useJsKernels, useWasmKernels } from './use-wasm-kernels';

afterEach(() => {
  useJsKernels();
  setKernels(plainKernels());
});

describe('useWasmKernels / useJsKernels', () => {
  test('WebAssembly SIMD is available on Node (a failure here is real, never a skip)', () => {
    expect(wasmSimdSupported()).toBe(true);
  });

  test('installs the WebAssembly matmul and attention forward and backward, and useJsKernels puts the JS ones back', async () => {
    expect(await useWasmKernels()).toBe(true);
    expect(getKernels().matmul).not.toBe(matmulKernelJs);
    expect(getKernels().attentionForward).not.toBe(attentionForwardJs);
    expect(getKernels().attentionBackward).not.toBe(attentionBackwardJs);
    const y = matmul(tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]]));
    expect(Array.from(y.data)).toEqual([19, 22, 43, 50]);
    useJsKernels();
    expect(getKernels().matmul).toBe(matmulKernelJs);
    expect(getKernels().attentionForward).toBe(attentionForwardJs);
    expect(getKernels().attentionBackward).toBe(attentionBackwardJs);
  });

  test('calling it twice is harmless; useJsKernels leaves kernels set by others in between alone', async () => {
    expect(await useWasmKernels()).toBe(true);
    expect(await useWasmKernels({ relaxedSimd: false })).toBe(true);
    const other = matmulKernelJs.bind(null);
    setKernels({ matmul: other });
    useJsKernels();
    expect(getKernels().matmul).toBe(other); // not ours any more: untouched
    expect(getKernels().attentionForward).toBe(attentionForwardJs);
  });
});
