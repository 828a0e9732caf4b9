import { afterEach, describe, expect, test } from 'vitest';
import { matmul } from '../../ops/matmul';
import { tensor } from '../../creation';
import { attentionBackwardJs, attentionForwardJs } from '../js/attention';
import { matmulKernelJs } from '../js/matmul';
import { activeKernelSet, getKernels, listKernelSets, plainKernels, setKernels } from '../registry';
import { loadWasmKernels, releaseWasmKernels, wasmRelaxedSimdSupported, wasmSimdSupported } from './load-wasm-kernels';
import { liveWorkerCount } from './wasm-thread-pool';
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

describe('worker pools', () => {
  test('threads 5..9 one after another do not accumulate workers; useJsKernels stops them', async () => {
    expect(liveWorkerCount()).toBe(0);
    for (let threads = 5; threads <= 9; threads++) {
      expect(await useWasmKernels({ relaxedSimd: false, threads })).toBe(true);
      expect(liveWorkerCount()).toBe(threads - 1); // the pool of the previous call was stopped
      expect(listKernelSets()).toEqual(['js', 'wasm']);
    }
    const y = matmul(tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]]));
    expect(Array.from(y.data)).toEqual([19, 22, 43, 50]);
    useJsKernels();
    expect(liveWorkerCount()).toBe(0);
    expect(activeKernelSet()).toBe('js');
    expect(listKernelSets()).toEqual(['js']);
  });

  test('the same options twice, or options that pick the same build, share one pool; a stopped pool is not reused', async () => {
    const first = await loadWasmKernels({ relaxedSimd: false, threads: 2 });
    expect(await loadWasmKernels({ relaxedSimd: false, threads: 2 })).toBe(first);
    // relaxedSimd: true picks the relaxed build where it validates (here: with the vitest flag), else the same plain one.
    const relaxed = await loadWasmKernels({ relaxedSimd: true, threads: 2 });
    expect(relaxed === first).toBe(!wasmRelaxedSimdSupported());
    expect(await useWasmKernels({ relaxedSimd: false, threads: 2 })).toBe(true);
    expect(await useWasmKernels({ relaxedSimd: false, threads: 2 })).toBe(true); // the same set again: the pool stays
    expect(first!.pool!.terminated).toBe(false);
    useJsKernels();
    expect(first!.pool!.terminated).toBe(true);
    const fresh = await loadWasmKernels({ relaxedSimd: false, threads: 2 });
    expect(fresh).not.toBe(first);
    expect(fresh!.pool!.size).toBe(2);
    releaseWasmKernels(fresh!);
    releaseWasmKernels(relaxed!);
    expect(liveWorkerCount()).toBe(0);
  });
});
