import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteCheck } from '../test/browser/route-result';
import { FIXTURE_RUNS, FixtureChecks } from '../test/fixture-checks';
import { testBackend } from '../test/test-backend';

// The Node route: every PyTorch fixture's checks (test/fixture-checks.ts, the same code the browser page runs) on
// WebGPU through Dawn's Node bindings on SwiftShader, one test per fixture. Each result is held to its fixture file's own
// float32 rule against the float64 reference, |gpu − ref| ≤ atol + rtol·|ref| elementwise (rtol 1e-4, atol 1e-5; atol
// 1e-4 for softcap_gemma2, whose logits reach twice the cap; 1e-3 both for sdpa_large_logits_*, logits near 1e3), as
// on the CPU: ruleFraction ≤ 1 (compare.ts). Integers (Luong's window bounds), gradients that must be exactly 0 and
// finiteness counts: exact.
const EXACT_CHECK = / (window_start|window_end|finite|grad x of the masked batch element)$/;

/** The fraction of its tolerance a check uses: ≤ 1 passes. */
function usage(check: RouteCheck): number {
  if (EXACT_CHECK.test(check.name)) return check.maxError === 0 ? 0 : Number.POSITIVE_INFINITY;
  return check.ruleFraction ?? Number.POSITIVE_INFINITY;
}

/** The fixtures whose GPU checks live elsewhere: the normalizers sparsemax, entmax and Gumbel-softmax. */
const NORMALIZER_FIXTURES = /^(sparsemax|entmax|gumbel_softmax)/;

function fixtureNames(folder: 'pytorch' | 'variants'): string[] {
  const index = JSON.parse(readFileSync(new URL(`../../../fixtures/${folder}/index.json`, import.meta.url), 'utf8')) as {
    files: { name: string }[];
  };
  return index.files.map((file) => file.name);
}

const ran: RouteCheck[] = [];

beforeAll(async () => {
  await testBackend();
});

afterAll(() => {
  const closest = [...ran].sort((a, b) => usage(b) - usage(a)).slice(0, 4);
  console.log(
    `Node route: ${ran.length} fixture checks; closest to their tolerance: ${closest.map((check) => `${check.name} |error| ${check.maxAbsError.toExponential(1)} (${(100 * usage(check)).toFixed(0)} % of it)`).join(', ')}`,
  );
});

describe('the PyTorch fixtures on WebGPU in Node (SwiftShader)', () => {
  it('every fixture but the normalizer ones has its checks, run once each', () => {
    const covered = FIXTURE_RUNS.map((entry) => entry.fixture);
    expect(new Set(covered).size).toBe(covered.length);
    const all = [...fixtureNames('pytorch'), ...fixtureNames('variants')];
    expect(covered.filter((name) => !all.includes(name))).toEqual([]); // no entry without its file
    expect(all.filter((name) => !NORMALIZER_FIXTURES.test(name) && !covered.includes(name))).toEqual([]);
  });

  for (const entry of FIXTURE_RUNS) {
    it(`${entry.fixture}: outputs and every stored gradient equal PyTorch's`, async () => {
      const checks = new FixtureChecks();
      await entry.run(checks);
      expect(checks.checks.length).toBeGreaterThan(0);
      expect([...checks.devices]).toEqual(['webgpu']);
      ran.push(...checks.checks);
      const failures = checks.checks
        .filter((check) => !check.sameShape || check.nonFinite > 0 || check.size === 0 || !(usage(check) <= 1))
        .map((check) => `${check.name}: |error| ${check.maxAbsError} is ${usage(check)} of its tolerance (${check.nonFinite} non-finite)`);
      expect(failures, failures.join('; ')).toEqual([]);
    });
  }
});
