// The coverage settings every package's vitest config shares (see CONTRIBUTING "CI and the tested runtimes").
// CI's Node 20 leg sets HEED_COVERAGE=1: v8 coverage of the package's src/, failing below its floor (the level
// measured when it was set, rounded down by 0.5; raise it when coverage rises).

/** Coverage of src/ (tests excepted), on when HEED_COVERAGE=1, failing below `thresholds` (percent). */
export function packageCoverage(thresholds: { lines: number; branches: number }) {
  return {
    enabled: process.env.HEED_COVERAGE === '1',
    provider: 'v8' as const,
    include: ['src/**/*.ts'],
    exclude: ['src/**/*.test.ts', 'src/**/*.test-d.ts'],
    reporter: ['text-summary', 'json-summary'],
    thresholds,
  };
}
