import { afterEach, describe, expect, test, vi } from 'vitest';
import { randn } from '../../creation';
import { ArgumentError } from '../../errors/argument-error';
import { matmul } from '../../ops/matmul';
import { scaledDotProductAttention } from '../../ops/scaled-dot-product-attention';
import { sum } from '../../ops/reduce';
import { Rng } from '../../rng';
import { tensor } from '../../creation';
import { expectClose } from '../../testing/expect-close';
import { attentionBackwardJs, attentionForwardJs } from '../js/attention';
import { matmulKernelJs } from '../js/matmul';
import { activeKernelSet, getKernels, listKernelSets, plainKernels, setKernels } from '../registry';
import { loadWasmKernels, releaseWasmKernels, wasmRelaxedSimdSupported, wasmSimdSupported } from './load-wasm-kernels';
import { liveWorkerCount } from './wasm-thread-pool';
import { useJsKernels, useWasmKernels } from './use-wasm-kernels';

afterEach(() => {
  useJsKernels();
  setKernels(plainKernels());
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

// Which build this engine runs by default, known from the runtime's version (not from the code under
// test): relaxed SIMD ships in V8 11.4+, i.e. Node ≥ 22 (and 21); Node 20 (V8 11.3) only with the flag.
const nodeMajor = Number(process.versions.node.split('.')[0]);
const relaxedValidates = nodeMajor >= 21 || process.execArgv.includes('--experimental-wasm-relaxed-simd');
const defaultSimd = relaxedValidates ? 'relaxed' : 'plain';

/** Float64 reference: [m, k] x [k, n] -> [m, n]. */
function naiveMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
      c[i * n + j] = s;
    }
  }
  return c;
}

/** Float64 reference: softmax(Q Kᵀ / √d) V for q [Lq, d], k [Lk, d], v [Lk, dv] -> [Lq, dv]. */
function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, Lq: number, Lk: number, d: number, dv: number): Float64Array {
  const out = new Float64Array(Lq * dv);
  for (let i = 0; i < Lq; i++) {
    const scores = Array.from({ length: Lk }, (_, j) => {
      let s = 0;
      for (let x = 0; x < d; x++) s += q[i * d + x]! * k[j * d + x]!;
      return s / Math.sqrt(d);
    });
    const max = Math.max(...scores);
    const e = scores.map((s) => Math.exp(s - max));
    const total = e.reduce((s, x) => s + x, 0);
    for (let j = 0; j < Lk; j++) for (let x = 0; x < dv; x++) out[i * dv + x]! += (e[j]! / total) * v[j * dv + x]!;
  }
  return out;
}

describe('useWasmKernels / useJsKernels', () => {
  test('WebAssembly SIMD is available on Node (a failure here is real, never a skip)', () => {
    expect(wasmSimdSupported()).toBe(true);
  });

  test(`resolves to the build it instantiated: ${defaultSimd} on Node ${process.versions.node} by default, plain when relaxedSimd is false`, async () => {
    expect(await useWasmKernels()).toEqual({ simd: defaultSimd, threads: 1 });
    expect(await useWasmKernels({ relaxedSimd: false })).toEqual({ simd: 'plain', threads: 1 });
    expect(await useWasmKernels({ relaxedSimd: true, threads: 1 })).toEqual({ simd: defaultSimd, threads: 1 });
  });

  test('installs the WebAssembly matmul and attention forward and backward, and useJsKernels puts the JS ones back', async () => {
    expect(await useWasmKernels()).not.toBe(false);
    expect(getKernels().matmul).not.toBe(matmulKernelJs);
    expect(getKernels().attentionForward).not.toBe(attentionForwardJs);
    expect(getKernels().attentionBackward).not.toBe(attentionBackwardJs);
    const y = matmul(
      tensor([
        [1, 2],
        [3, 4],
      ]),
      tensor([
        [5, 6],
        [7, 8],
      ]),
    );
    expect(Array.from(y.data)).toEqual([19, 22, 43, 50]);
    useJsKernels();
    expect(getKernels().matmul).toBe(matmulKernelJs);
    expect(getKernels().attentionForward).toBe(attentionForwardJs);
    expect(getKernels().attentionBackward).toBe(attentionBackwardJs);
  });

  // On Node ≥ 22 this runs the relaxed-SIMD build in-process (on Node 20, relaxed-simd-build.test.ts
  // checks it in a child started with the flag); the plain build runs here on every Node.
  for (const relaxedSimd of [true, false]) {
    test(`the ${relaxedSimd ? `default (${defaultSimd})` : 'plain'} build: matmul and attention match float64 references, gradients match the JS kernels`, async () => {
      const rng = new Rng(7);
      const [m, k, n] = [37, 53, 29];
      const a = randn([m, k], rng);
      const b = randn([k, n], rng);
      const [Lq, Lk, d, dv] = [19, 41, 16, 12];
      const q = randn([Lq, d], rng, { requiresGrad: true });
      const keys = randn([Lk, d], rng, { requiresGrad: true });
      const values = randn([Lk, dv], rng, { requiresGrad: true });
      const gradients = () => {
        for (const t of [q, keys, values]) t.grad = null;
        sum(scaledDotProductAttention(q, keys, values)).backward();
        return [q, keys, values].map((t) => Float32Array.from(t.grad!.data));
      };
      const js = gradients();

      const info = await useWasmKernels({ relaxedSimd });
      expect(info).toEqual({ simd: relaxedSimd ? defaultSimd : 'plain', threads: 1 });
      expectClose(matmul(a, b).data, naiveMatmul(a.data, b.data, m, k, n), { atol: 1e-5, rtol: 1e-5 }, 'matmul');
      const out = scaledDotProductAttention(q, keys, values);
      expectClose(out.data, naiveAttention(q.data, keys.data, values.data, Lq, Lk, d, dv), { atol: 2e-5, rtol: 2e-4 }, 'attention');
      const wasm = gradients();
      ['dq', 'dk', 'dv'].forEach((name, i) => expectClose(wasm[i]!, js[i]!, { atol: 1e-4, rtol: 1e-3 }, name));
    });
  }

  test('threads: 2 starts a worker on Node and says so', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await useWasmKernels({ relaxedSimd: false, threads: 2 })).toEqual({ simd: 'plain', threads: 2 });
    expect(warn).not.toHaveBeenCalled();
  });

  test('calling it twice is harmless; useJsKernels leaves kernels set by others in between alone', async () => {
    expect(await useWasmKernels()).not.toBe(false);
    expect(await useWasmKernels({ relaxedSimd: false })).toEqual({ simd: 'plain', threads: 1 });
    const other = matmulKernelJs.bind(null);
    setKernels({ matmul: other });
    useJsKernels();
    expect(getKernels().matmul).toBe(other); // not ours any more: untouched
    expect(getKernels().attentionForward).toBe(attentionForwardJs);
  });

  test('options that are not what the types say throw ArgumentError naming useWasmKernels and the argument', async () => {
    const cases: [unknown, string][] = [
      [{ threads: 0 }, 'threads'],
      [{ threads: -2 }, 'threads'],
      [{ threads: 1.5 }, 'threads'],
      [{ threads: Number.NaN }, 'threads'],
      [{ threads: Number.POSITIVE_INFINITY }, 'threads'],
      [{ threads: 65 }, 'threads'],
      [{ threads: '2' }, 'threads'],
      [{ relaxedSimd: 'yes' }, 'relaxedSimd'],
      [{ relaxedSimd: 1 }, 'relaxedSimd'],
      [{ thread: 2 }, 'thread'],
      [null, 'options'],
      [2, 'options'],
      [[], 'options'],
    ];
    for (const [options, argument] of cases) {
      const error = await useWasmKernels(options as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(options)).toBeInstanceOf(ArgumentError);
      expect((error as ArgumentError).op).toBe('useWasmKernels');
      expect((error as ArgumentError).argument).toBe(argument);
      expect((error as ArgumentError).message).toMatch(new RegExp(`^useWasmKernels: .*${argument}`));
    }
  });

  test('a call that throws changes no kernels (neither the JS ones nor WebAssembly ones installed before)', async () => {
    await expect(useWasmKernels({ threads: 0 })).rejects.toThrow(ArgumentError);
    expect(getKernels().matmul).toBe(matmulKernelJs);
    expect(getKernels().attentionForward).toBe(attentionForwardJs);
    expect(await useWasmKernels({ relaxedSimd: false })).not.toBe(false);
    const before = { ...getKernels() };
    await expect(useWasmKernels({ threads: 1000 })).rejects.toThrow(ArgumentError);
    expect(getKernels()).toEqual(before);
    useJsKernels(); // still knows what it installed
    expect(getKernels().matmul).toBe(matmulKernelJs);
  });
});

describe('useWasmKernels when threads cannot start (fresh module state for each case)', () => {
  async function freshModule() {
    vi.resetModules();
    return import('./use-wasm-kernels');
  }

  test('no SharedArrayBuffer: one thread, and one warning that says why, however often it is called', async () => {
    const fresh = await freshModule();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubGlobal('SharedArrayBuffer', undefined);
    try {
      expect(await fresh.useWasmKernels({ relaxedSimd: false, threads: 4 })).toEqual({ simd: 'plain', threads: 1 });
      expect(await fresh.useWasmKernels({ relaxedSimd: false, threads: 3 })).toEqual({ simd: 'plain', threads: 1 });
    } finally {
      fresh.useJsKernels();
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/^useWasmKernels: asked for 4 threads, running on 1: .*SharedArrayBuffer/);
  });

  test('a page that is not cross-origin isolated: the warning names cross-origin isolation and the headers', async () => {
    const fresh = await freshModule();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubGlobal('SharedArrayBuffer', undefined);
    vi.stubGlobal('crossOriginIsolated', false);
    try {
      expect(await fresh.useWasmKernels({ relaxedSimd: false, threads: 2 })).toEqual({ simd: 'plain', threads: 1 });
    } finally {
      fresh.useJsKernels();
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(
      /not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/,
    );
  });

  test('one thread asked for: no warning even without SharedArrayBuffer', async () => {
    const fresh = await freshModule();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubGlobal('SharedArrayBuffer', undefined);
    try {
      expect(await fresh.useWasmKernels({ relaxedSimd: false })).toEqual({ simd: 'plain', threads: 1 });
    } finally {
      fresh.useJsKernels();
    }
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('worker pools', () => {
  test('threads 5..9 one after another do not accumulate workers; useJsKernels stops them', async () => {
    expect(liveWorkerCount()).toBe(0);
    for (let threads = 5; threads <= 9; threads++) {
      expect(await useWasmKernels({ relaxedSimd: false, threads })).toEqual({ simd: 'plain', threads });
      expect(liveWorkerCount()).toBe(threads - 1); // the pool of the previous call was stopped
      expect(listKernelSets()).toEqual(['js', 'wasm']);
    }
    const y = matmul(
      tensor([
        [1, 2],
        [3, 4],
      ]),
      tensor([
        [5, 6],
        [7, 8],
      ]),
    );
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
    expect(await useWasmKernels({ relaxedSimd: false, threads: 2 })).toEqual({ simd: 'plain', threads: 2 });
    expect(await useWasmKernels({ relaxedSimd: false, threads: 2 })).toEqual({ simd: 'plain', threads: 2 }); // the same set again: the pool stays
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
