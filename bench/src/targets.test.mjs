import { describe, expect, it } from 'vitest';
import { checkTargets, formatTargets } from './targets.mjs';

const RELAXED = { kind: 'wasm', simd: 'relaxed', threads: 1 };
const PLAIN = { kind: 'wasm', simd: 'plain', threads: 1 };

/** A timed row. */
const timed = (task, impl, L, medianMs, build = undefined) => ({ task, impl, L, medianMs, build });

describe('the issue targets, from the rows of one run', () => {
  it('compute each ratio from the medians and say met or how far (relaxed build: the Node 24 targets)', () => {
    const results = [
      timed('mha', 'heed-wasm1', 1024, 100, RELAXED),
      timed('mha', 'ort-1', 1024, 35), // 0.35× ≥ 0.30: met
      timed('mha', 'tfjs-wasm-head', 1024, 150), // 1.5× < 1.8: 1.2× short
      timed('mha', 'ortweb-1', 1024, 160), // 1.6×: met (equal)
      timed('mha', 'heed-wasm2', 1024, 50), // 2.0× ≥ 1.85: met
      timed('train', 'heed-wasm1', 512, 10),
      timed('train', 'tfjs-wasm-head', 512, 120), // 12× < 15: 1.25× short
      timed('mha', 'heed-wasm1', 4096, 1000),
      timed('mha-causal', 'heed-wasm1', 4096, 660), // 0.66 > 0.6: 10 % over
    ];
    const { build, checks, missing } = checkTargets(results);
    expect(build).toBe('relaxed');
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    const mha = (peer) => byName[`MHA forward, L = 1024, heed 1 thread vs ${peer}`];
    expect(mha('onnxruntime native (1 thread)')).toMatchObject({ value: 0.35, target: 0.3, met: true, distance: null });
    expect(mha('tfjs-wasm per head')).toMatchObject({ value: 1.5, target: 1.8, met: false });
    expect(mha('tfjs-wasm per head').distance).toBeCloseTo(1.2, 12);
    expect(mha('onnxruntime-web (1 thread)')).toMatchObject({ value: 1.6, met: true });
    expect(byName['MHA forward, L = 1024, heed 2 threads over 1 thread']).toMatchObject({ value: 2, target: 1.85, met: true });
    const train = byName['MHA fwd+bwd, heed 1 thread vs tfjs-wasm per head, L = 512'];
    expect(train).toMatchObject({ value: 12, target: 15, met: false });
    expect(train.distance).toBeCloseTo(1.25, 12);
    const causal = byName['causal MHA over full MHA, L = 4096, heed 1 thread (time)'];
    expect(causal).toMatchObject({ target: 0.6, at: 'most', met: false });
    expect(causal.value).toBeCloseTo(0.66, 12);
    expect(causal.distance).toBeCloseTo(1.1, 12);
    // no SDPA rows: its three peer checks are listed as not measured
    expect(missing).toEqual([
      'SDPA, L = 1024, heed 1 thread vs onnxruntime native (1 thread)',
      'SDPA, L = 1024, heed 1 thread vs tfjs-wasm per head',
      'SDPA, L = 1024, heed 1 thread vs onnxruntime-web (1 thread)',
    ]);
    const text = formatTargets({ build, checks, missing });
    expect(text).toMatch(/relaxed-SIMD build \(Node 24\)/);
    expect(text).toMatch(/vs tfjs-wasm per head\s+1\.50× \(target ≥ 1\.8×\)\s+NOT met: 1\.20× short \(20 % more speed needed\)/);
    expect(text).toMatch(/\(time\)\s+0\.66× \(target ≤ 0\.6×\)\s+NOT met: 10 % over/);
    expect(text).toMatch(/not measured in this run: SDPA, L = 1024/);
  });

  it('give the CPU-time ratio next to the wall-clock one where the rows have cpu/wall', () => {
    const results = [
      { ...timed('mha', 'heed-wasm1', 1024, 200, RELAXED), cpuPerWall: 0.5 }, // 100 ms of CPU
      { ...timed('mha', 'ort-1', 1024, 40), cpuPerWall: 1 }, // 40 ms of CPU: 0.40× by CPU time, 0.20× by wall
    ];
    const { checks } = checkTargets(results);
    expect(checks[0]).toMatchObject({ value: 0.2, met: false });
    expect(checks[0].cpuValue).toBeCloseTo(0.4, 12);
    const text = formatTargets(checkTargets(results));
    expect(text).toMatch(/0\.20× \(target ≥ 0\.3×\)\s+NOT met: 1\.50× short \(50 % more speed needed\)\s+\[CPU time: 0\.40×\]/);
    expect(text).toMatch(/verdicts from wall-clock medians/);
  });

  it('hold the SIMD-128 build to the Node 20 targets', () => {
    const results = [timed('sdpa', 'heed-wasm1', 1024, 100, PLAIN), timed('sdpa', 'ort-1', 1024, 26)];
    const { build, checks } = checkTargets(results);
    expect(build).toBe('plain');
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ value: 0.26, target: 0.25, met: true });
    expect(formatTargets(checkTargets(results))).toMatch(/SIMD-128 build \(Node 20\)/);
  });
});
