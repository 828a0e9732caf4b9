import { describe, expect, it } from 'vitest';
import { formatProfile, runProfile } from './profile-rows.mjs';

describe('the profile of the MHA forward', () => {
  it('prints each kernel by its share, the time outside them, the rates and the fresh memory', () => {
    const text = formatProfile({
      build: 'SIMD-128, v20',
      runs: 7,
      totalMs: 200,
      cpuMs: 198,
      systemMs: 10,
      pageFaults: 2560,
      kernels: { matmul: 80, attentionForward: 100 },
      calls: { matmul: 4, attentionForward: 1 },
      outsideMs: 20,
      projectionGflops: 26.8,
      attentionGflops: 21.5,
    });
    const lines = text.split('\n');
    // largest first, each with its share of the total
    expect(lines.findIndex((l) => l.includes('kernel attentionForward'))).toBeLessThan(lines.findIndex((l) => l.includes('kernel matmul')));
    expect(text).toMatch(/kernel attentionForward +100\.0 ms +50\.0 %/);
    expect(text).toMatch(/kernel matmul +80\.0 ms +40\.0 % +\(4 calls\)/);
    expect(text).toMatch(/outside the kernels +20\.0 ms +10\.0 %/);
    expect(text).toContain('projections: 26.8 GFLOP/s');
    expect(text).toContain('2560 minor page faults per forward (10.0 MiB first touched)');
    expect(formatProfile({ error: 'child exited with 1' })).toMatch(/failed \(child exited with 1\)/);
  });

  it('runs: the kernels and what is outside them add up to the forward', async () => {
    const profile = await runProfile();
    expect(profile.error).toBeUndefined();
    const inside = Object.values(profile.kernels).reduce((a, b) => a + b, 0);
    expect(profile.kernels.matmul).toBeGreaterThan(0);
    expect(profile.kernels.attentionForward).toBeGreaterThan(0);
    expect(profile.calls.matmul).toBe(4); // q, k, v and output projections
    expect(profile.calls.attentionForward).toBe(1); // one fused call for all heads
    // medians of different runs: the parts add up to the total only approximately
    expect(inside + profile.outsideMs).toBeGreaterThan(0.5 * profile.totalMs);
    expect(profile.projectionGflops).toBeGreaterThan(0);
  }, 60_000);
});
