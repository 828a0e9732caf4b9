import { activeKernelSet } from '@heed/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, backendById, currentBackend, defaultBackend, onBackendChange, switchBackend } from './backends';

describe('the backends of the kernels switch', () => {
  afterAll(async () => {
    await switchBackend(backendById('js'));
  });

  it('are JS, WASM and WebGPU, with unique ids; an unknown id is refused naming the known ones', () => {
    expect(BACKENDS.map((b) => b.id)).toEqual(['js', 'wasm', 'webgpu']);
    expect(() => backendById('cuda')).toThrow("unknown backend 'cuda' (known: js, wasm, webgpu)");
  });

  it('WebGPU trains on the device and says why it cannot run where there is no navigator.gpu (Node)', async () => {
    const webgpu = backendById('webgpu');
    expect(webgpu.device).toBe('webgpu');
    expect(webgpu.unavailable()).toBe('this browser has no WebGPU (navigator.gpu)');
    expect(defaultBackend().id).toBe('wasm');
    expect(defaultBackend([backendById('wasm')]).id).toBe('js'); // the fallback when WASM failed to start
    await expect(switchBackend(webgpu)).rejects.toThrow('WebGPU cannot run here: this browser has no WebGPU (navigator.gpu)');
  });

  it("each switches heed's active kernel set, and the listeners hear it", async () => {
    const heard: string[] = [];
    const stop = onBackendChange((b) => heard.push(b.id));
    expect(defaultBackend().id).toBe('wasm'); // Node 20 has WebAssembly SIMD
    expect(await switchBackend(backendById('wasm'))).toMatch(/^WebAssembly SIMD kernels \((relaxed SIMD|SIMD-128)/);
    expect(activeKernelSet()).toBe('wasm');
    expect(await switchBackend(backendById('js'))).toBe('plain TypeScript kernels');
    expect(activeKernelSet()).toBe('js');
    stop();
    await switchBackend(backendById('wasm'));
    expect(heard).toEqual(['wasm', 'js']);
    expect(currentBackend()?.id).toBe('wasm');
  });
});
