// The targets of the attention-variants issue (#12) against the variant rows of one run (variant-rows.mjs):
// each is met, or printed with its distance, as targets.mjs does for the CPU-performance issue.
//   - a causal sliding window W = 256: time(L = 16384) ≤ 4.5 × time(L = 4096) (linear in L), and
//     ≤ 0.25 × a full causal attention at L = 4096;
//   - ALiBi and the soft-cap on the fused path ≤ 1.15 × plain scaled-dot fused, at each length measured.
// Ratios are of each row's fastest run (min ms: the run least disturbed by the other work of a shared
// machine); the same ratio of the fastest CPU times (user + system) is given beside it.

/** The issue's bounds: each ratio must be at most this. */
export const VARIANT_TARGETS = { windowGrowth: 4.5, windowOverCausal: 0.25, biasOverScaledDot: 1.15 };
/** The lengths of the window checks. */
export const WINDOW_GROWTH_LENGTHS = [4096, 16384];
export const WINDOW_CAUSAL_LENGTH = 4096;

/** A row's fastest wall and CPU times at `kind` and L, or undefined. */
function row(rows, kind, L) {
  return rows.find((r) => r.kind === kind && r.L === L && r.minMs !== undefined);
}

/**
 * One check that `numerator / denominator` is at most `target`: its wall-clock value, verdict and distance (the share
 * over the bound, 0.12 for 12 % over; null when met), and the same from CPU time where both rows have it.
 */
function atMost(name, numerator, denominator, target) {
  const value = numerator.minMs / denominator.minMs;
  const cpuValue = numerator.cpuMinMs && denominator.cpuMinMs ? numerator.cpuMinMs / denominator.cpuMinMs : null;
  const over = (x) => (x === null || x <= target ? null : x / target - 1);
  return {
    name,
    value,
    target,
    met: value <= target,
    distance: over(value),
    cpuValue,
    cpuMet: cpuValue === null ? null : cpuValue <= target,
  };
}

/**
 * The #12 checks that the rows allow (one whose rows are missing is listed in `missing`), and the linear over
 * softmax attention ratios (no target: the issue asks for the comparison) as `comparisons`.
 */
export function checkVariantTargets(rows) {
  const checks = [];
  const missing = [];
  const add = (name, a, b, target) => (a && b ? checks.push(atMost(name, a, b, target)) : missing.push(name));
  const [shorter, longer] = WINDOW_GROWTH_LENGTHS;
  add(
    `window W = 256: time(L = ${longer}) / time(L = ${shorter})`,
    row(rows, 'window', longer),
    row(rows, 'window', shorter),
    VARIANT_TARGETS.windowGrowth,
  );
  add(
    `window W = 256 / full causal, L = ${WINDOW_CAUSAL_LENGTH}`,
    row(rows, 'window', WINDOW_CAUSAL_LENGTH),
    row(rows, 'causal', WINDOW_CAUSAL_LENGTH),
    VARIANT_TARGETS.windowOverCausal,
  );
  const biasedLengths = [...new Set(rows.filter((r) => r.kind === 'scaled-dot').map((r) => r.L))].sort((a, b) => a - b);
  for (const L of biasedLengths) {
    for (const [kind, label] of [
      ['alibi', 'ALiBi'],
      ['softcap', 'softcap'],
    ])
      add(`${label} fused / scaled-dot fused, L = ${L}`, row(rows, kind, L), row(rows, 'scaled-dot', L), VARIANT_TARGETS.biasOverScaledDot);
  }
  const linearLengths = [...new Set(rows.filter((r) => r.kind === 'linear').map((r) => r.L))].sort((a, b) => a - b);
  const comparisons = [];
  for (const L of linearLengths) {
    const [linear, softmax] = [row(rows, 'linear', L), row(rows, 'softmax', L)];
    if (linear && softmax)
      comparisons.push({
        name: `linear / softmax attention, L = ${L}`,
        value: linear.minMs / softmax.minMs,
        cpuValue: linear.cpuMinMs && softmax.cpuMinMs ? linear.cpuMinMs / softmax.cpuMinMs : null,
      });
  }
  return { checks, missing, comparisons };
}

/** The checks as lines: value, bound, met or how far over, and the CPU-time ratio. */
export function formatVariantTargets({ checks, missing, comparisons }) {
  const out = ['targets (issue #12, attention variants), from the fastest runs:'];
  const width = Math.max(0, ...checks.map((c) => c.name.length), ...comparisons.map((c) => c.name.length));
  const verdict = (met, distance) => (met ? 'met' : `NOT met: ${(distance * 100).toFixed(0)} % over`);
  for (const c of checks) {
    const cpu =
      c.cpuValue === null
        ? ''
        : `  [CPU time: ${c.cpuValue.toFixed(2)}×, ${verdict(c.cpuMet, c.cpuMet ? null : c.cpuValue / c.target - 1)}]`;
    out.push(`  ${c.name.padEnd(width)}  ${c.value.toFixed(2)}× (target ≤ ${c.target}×)  ${verdict(c.met, c.distance)}${cpu}`);
  }
  for (const c of comparisons)
    out.push(`  ${c.name.padEnd(width)}  ${c.value.toFixed(3)}×${c.cpuValue === null ? '' : `  [CPU time: ${c.cpuValue.toFixed(3)}×]`}`);
  if (checks.length)
    out.push('  (verdicts from wall-clock minima; [CPU time] is the same ratio of CPU time, user + system, steadier under load)');
  if (missing.length) out.push(`  not measured in this run: ${missing.join('; ')}`);
  return out.join('\n');
}
