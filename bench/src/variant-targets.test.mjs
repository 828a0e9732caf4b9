import { describe, expect, it } from 'vitest';
import { checkVariantTargets, formatVariantTargets } from './variant-targets.mjs';

/** A timed variant row: fastest wall and CPU times. */
const timed = (kind, L, minMs, cpuMinMs = undefined) => ({ kind, L, minMs, medianMs: minMs, cpuMinMs });

describe('the issue #12 targets, from the variant rows of one run', () => {
  it('compute each ratio from the fastest runs and say met or how far over', () => {
    const rows = [
      timed('window', 1024, 25, 24),
      timed('window', 4096, 100, 90),
      timed('window', 16384, 500, 396), // 5.0× > 4.5: 11 % over; by CPU 4.4×: met
      timed('causal', 4096, 500, 450), // 100 / 500 = 0.2 ≤ 0.25: met
      timed('scaled-dot', 1024, 40),
      timed('alibi', 1024, 44), // 1.10: met
      timed('softcap', 1024, 50), // 1.25: 9 % over (1.25 / 1.15 = 1.087)
      timed('softmax', 4096, 1000, 900),
      timed('linear', 4096, 50, 45),
    ];
    const { checks, missing, comparisons } = checkVariantTargets(rows);
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    const growth = byName['window W = 256: time(L = 16384) / time(L = 4096)'];
    expect(growth).toMatchObject({ value: 5, target: 4.5, met: false });
    expect(growth.distance).toBeCloseTo(5 / 4.5 - 1, 12);
    expect(growth.cpuValue).toBeCloseTo(4.4, 12);
    expect(growth.cpuMet).toBe(true);
    expect(byName['window W = 256 / full causal, L = 4096']).toMatchObject({ value: 0.2, target: 0.25, met: true, distance: null });
    expect(byName['ALiBi fused / scaled-dot fused, L = 1024'].value).toBeCloseTo(1.1, 12);
    expect(byName['ALiBi fused / scaled-dot fused, L = 1024']).toMatchObject({ met: true, cpuValue: null });
    const softcap = byName['softcap fused / scaled-dot fused, L = 1024'];
    expect(softcap).toMatchObject({ value: 1.25, met: false });
    expect(softcap.distance).toBeCloseTo(1.25 / 1.15 - 1, 12);
    expect(missing).toEqual([]);
    expect(comparisons).toHaveLength(1);
    expect(comparisons[0].name).toBe('linear / softmax attention, L = 4096');
    expect(comparisons[0].value).toBeCloseTo(0.05, 12);
    expect(comparisons[0].cpuValue).toBeCloseTo(0.05, 12);
    const text = formatVariantTargets({ checks, missing, comparisons });
    expect(text).toMatch(
      /time\(L = 16384\) \/ time\(L = 4096\)\s+5\.00× \(target ≤ 4\.5×\)\s+NOT met: 11 % over\s+\[CPU time: 4\.40×, met\]/,
    );
    expect(text).toMatch(/full causal, L = 4096\s+0\.20× \(target ≤ 0\.25×\)\s+met/);
    expect(text).toMatch(/softcap fused \/ scaled-dot fused, L = 1024\s+1\.25× \(target ≤ 1\.15×\)\s+NOT met: 9 % over\n/);
    expect(text).toMatch(/linear \/ softmax attention, L = 4096\s+0\.050×\s+\[CPU time: 0\.050×\]/);
  });

  it('list the checks whose rows are missing or failed', () => {
    const rows = [timed('window', 4096, 100), { kind: 'window', L: 16384, error: 'child exited with 1' }];
    const { checks, missing } = checkVariantTargets(rows);
    expect(checks).toEqual([]);
    expect(missing).toEqual(['window W = 256: time(L = 16384) / time(L = 4096)', 'window W = 256 / full causal, L = 4096']);
    expect(formatVariantTargets(checkVariantTargets(rows))).toMatch(/not measured in this run: window W = 256: time/);
  });
});
