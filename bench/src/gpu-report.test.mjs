import { describe, expect, it } from 'vitest';
import { checkGpuTargets, disagrees, formatGpuTable, formatGpuTargets } from './gpu-report.mjs';

const row = (impl, label, task, L, medianMs, extra = {}) => ({
  impl,
  label,
  task,
  L,
  status: 'ok',
  firstMs: 2 * medianMs,
  medianMs,
  runs: 3,
  ...extra,
});
const agree = { maxAbsDiff: 2e-7, relDiff: 1e-6 };

describe('the GPU table', () => {
  const rows = [
    row('heed-wasm1', 'heed (wasm, 1 thread)', 'mha', 1024, 200),
    row('heed-webgpu', 'heed (WebGPU)', 'mha', 1024, 4, { agreement: agree }),
    row('ort-webgpu', 'onnxruntime-node (WebGPU EP, MultiHeadAttention)', 'mha', 1024, 10, {
      agreement: { maxAbsDiff: 0.02, relDiff: 0.13 },
    }),
    { impl: 'tfjs-webgpu', label: 'tfjs-webgpu (batched)', task: 'mha', L: 1024, status: 'failed', reason: 'out of memory' },
    {
      impl: 'ort-webgpu',
      label: 'onnxruntime-node (WebGPU EP, MultiHeadAttention)',
      task: 'train',
      L: null,
      status: 'n/a',
      reason: 'no training API',
    },
  ];
  const lines = formatGpuTable(rows).split('\n');

  it('has a header and one line per row, in order', () => {
    expect(lines).toHaveLength(1 + rows.length);
    expect(lines[0]).toMatch(
      /^task +implementation +L +runs +first ms +median ms +GFLOP\/s +max \|Δ\| vs heed wasm \(rel\) +heed WebGPU speed-up$/,
    );
  });

  it('prints GFLOP/s from the FLOP count, the agreement, and the peer time over heed WebGPU', () => {
    // MHA forward at L = 1024: 4·2·L·512² + 4·L²·512 FLOPs = 4294967296; in 4 ms: 1074 GFLOP/s.
    expect(lines[2]).toMatch(/heed \(WebGPU\) +1024 +3 +8\.00 +4\.00 +1074 +2\.0e-7 \(1\.0e-6\)$/);
    expect(lines[1]).toMatch(/reference +50\.00×$/);
    expect(lines[3]).toMatch(/2\.0e-2 \(1\.3e-1\) +!! DISAGREES +2\.50×$/);
  });

  it('prints the reason in place of the numbers of a row that did not run', () => {
    expect(lines[4]).toMatch(/tfjs-webgpu \(batched\) +1024 +out of memory$/);
    expect(lines[5]).toMatch(/^train step +onnxruntime-node .* +— +no training API$/);
  });

  it('a disagreement is beyond 1e-3 relative, NaN included; a row without a comparison does not disagree', () => {
    expect(disagrees({ agreement: { relDiff: 1e-3 } })).toBe(false);
    expect(disagrees({ agreement: { relDiff: 1.01e-3 } })).toBe(true);
    expect(disagrees({ agreement: { relDiff: Number.NaN } })).toBe(true);
    expect(disagrees({})).toBe(false);
  });
});

describe('the GPU targets', () => {
  it('checks MHA forward against ONNX Runtime WebGPU at L ≥ 1024 and the train step against heed wasm (≥ 20×)', () => {
    const rows = [
      row('heed-webgpu', 'heed (WebGPU)', 'mha', 512, 3),
      row('ort-webgpu', 'ort', 'mha', 512, 1),
      row('heed-webgpu', 'heed (WebGPU)', 'mha', 1024, 4),
      row('ort-webgpu', 'ort', 'mha', 1024, 5),
      row('heed-webgpu', 'heed (WebGPU)', 'mha', 2048, 16),
      row('ort-webgpu', 'ort', 'mha', 2048, 8, { agreement: { maxAbsDiff: 1, relDiff: 0.5 } }),
      row('heed-wasm1', 'heed (wasm, 1 thread)', 'train', 1024, 1000),
      row('heed-webgpu', 'heed (WebGPU)', 'train', 1024, 40),
      row('heed-wasm1', 'heed (wasm, 1 thread)', 'train', 2048, 4000),
    ];
    const { checks, missing } = checkGpuTargets(rows);
    expect(checks.map((c) => [c.name, c.value, c.met])).toEqual([
      ['MHA forward, L = 1024, heed WebGPU vs ort', 1.25, true],
      ['MHA forward, L = 2048, heed WebGPU vs ort', 0.5, false],
      ['train step, L = 1024, heed WebGPU over heed wasm (1 thread)', 25, true],
    ]);
    expect(checks[1].note).toMatch(/disagrees/);
    expect(missing).toEqual(['train step, L = 2048, heed WebGPU over heed wasm (1 thread)']);
    const text = formatGpuTargets({ checks, missing }, { software: true });
    expect(text).toMatch(/software adapter: not a GPU measurement/);
    expect(text).toMatch(/L = 2048, heed WebGPU vs ort +0\.50× \(target ≥ 1×\) +NOT met: 2\.00× short \(its output disagrees\)/);
    expect(text).toMatch(/not measured in this run: train step, L = 2048/);
  });
});
