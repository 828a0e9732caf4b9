// Test-only helper (exported from @heed/tensor/testing): elementwise comparison with explicit tolerances.

export interface CloseOptions {
  /** Absolute tolerance. */
  atol: number;
  /** Relative tolerance, scaled by |expected|. */
  rtol: number;
}

/**
 * Throws unless |actual[i] − expected[i]| ≤ atol + rtol·|expected[i]| for every i (equal infinities
 * and NaN against NaN count as close). The message names the worst index, both values and how many
 * elements are off.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, { atol, rtol }: CloseOptions, label = 'values'): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} differs from the expected length ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  let failures = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const excess = Number.isFinite(a) && Number.isFinite(e) ? Math.abs(a - e) - (atol + rtol * Math.abs(e)) : Infinity;
    if (excess > 0) {
      failures++;
      if (worst === -1 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (failures > 0) {
    const a = actual[worst]!;
    const e = expected[worst]!;
    throw new Error(
      `${label}: ${failures} of ${actual.length} elements differ beyond atol=${atol}, rtol=${rtol}; ` +
        `worst at index ${worst}: actual ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`,
    );
  }
}
