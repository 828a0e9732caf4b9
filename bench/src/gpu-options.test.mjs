import { describe, expect, it } from 'vitest';
import { GPU_DEFAULTS, parseGpuOptions } from './gpu-options.mjs';
import { GPU_IMPLS, planGpuRows, tableOrder, whyNot } from './gpu-impls.mjs';

describe('pnpm bench --gpu options', () => {
  it('defaults to L = 512 … 8192, training on, the Node route', () => {
    const o = parseGpuOptions([]);
    expect(o.lengths).toEqual([512, 1024, 2048, 4096, 8192]);
    expect(o).toMatchObject({ steps: GPU_DEFAULTS.steps, train: true, browser: false, requireGpu: false, only: null, out: null });
    expect(o.rowLimitMs).toBe(60_000);
    expect(o.childTimeoutMs).toBe(300_000);
    expect(o.totalMs).toBeNull();
    expect(parseGpuOptions(['--total-s=450']).totalMs).toBe(450_000);
  });

  it('reads --name=value options and flags; lengths sorted, duplicates dropped', () => {
    const o = parseGpuOptions([
      '--',
      '--lengths=1024,64,1024',
      '--steps=3',
      '--budget-s=0.5',
      '--only=heed-webgpu,ort-webgpu',
      '--no-train',
      '--browser',
      '--require-gpu',
      '--out=/tmp/x',
    ]);
    expect(o.lengths).toEqual([64, 1024]);
    expect(o).toMatchObject({
      steps: 3,
      budgetMs: 500,
      only: ['heed-webgpu', 'ort-webgpu'],
      train: false,
      browser: true,
      requireGpu: true,
      out: '/tmp/x',
    });
  });

  it('refuses unknown options, bad numbers, a value on a flag and a flag without its value', () => {
    expect(() => parseGpuOptions(['--quick'])).toThrow(/unknown option --quick/);
    expect(() => parseGpuOptions(['512'])).toThrow(/unexpected argument 512/);
    expect(() => parseGpuOptions(['--lengths=512,abc'])).toThrow(/positive integer/);
    expect(() => parseGpuOptions(['--steps=0'])).toThrow(/--steps=0 is not a positive integer/);
    expect(() => parseGpuOptions(['--steps=1.5'])).toThrow(/positive integer/);
    expect(() => parseGpuOptions(['--browser=yes'])).toThrow(/--browser takes no value/);
    expect(() => parseGpuOptions(['--lengths'])).toThrow(/--lengths needs a value/);
  });
});

describe('the rows a run plans', () => {
  it("every implementation for each task; the targets' rows run first, the reference first of all; --only narrows", () => {
    const all = planGpuRows({ only: null, train: true });
    expect(all).toHaveLength(2 * GPU_IMPLS.length);
    expect(all.slice(0, 6).map((r) => `${r.task} ${r.impl.id}`)).toEqual([
      'mha heed-wasm1',
      'mha heed-webgpu',
      'mha ort-webgpu',
      'mha ortweb-webgpu',
      'train heed-wasm1',
      'train heed-webgpu',
    ]);
    expect(new Set(all.map((r) => `${r.task} ${r.impl.id}`)).size).toBe(all.length);
    const some = planGpuRows({ only: ['tfjs-webgpu'], train: false });
    expect(some.map((r) => `${r.impl.id} ${r.task}`)).toEqual(['tfjs-webgpu mha']);
    expect(() => planGpuRows({ only: ['ort-gpu'], train: true })).toThrow(/unknown implementation ort-gpu/);
  });

  it('the table lists rows by task, then implementation, then L', () => {
    const rows = [
      { task: 'train', impl: 'heed-wasm1', L: 512 },
      { task: 'mha', impl: 'tfjs-webgpu', L: 1024 },
      { task: 'mha', impl: 'heed-webgpu', L: 1024 },
      { task: 'mha', impl: 'heed-webgpu', L: 512 },
    ];
    expect(tableOrder(rows).map((r) => `${r.task} ${r.impl} ${r.L}`)).toEqual([
      'mha heed-webgpu 512',
      'mha heed-webgpu 1024',
      'mha tfjs-webgpu 1024',
      'train heed-wasm1 512',
    ]);
  });

  it('says why a peer has no row: no training API, or not on this route', () => {
    const byId = (id) => GPU_IMPLS.find((impl) => impl.id === id);
    expect(whyNot(byId('ort-webgpu'), 'train', 'node')).toMatch(/no training API/);
    expect(whyNot(byId('ort-webgpu'), 'mha', 'browser')).toMatch(/Node only/);
    expect(whyNot(byId('ortweb-webgpu'), 'mha', 'browser')).toBeNull();
    expect(whyNot(byId('heed-webgpu'), 'train', 'node')).toBeNull();
  });
});
