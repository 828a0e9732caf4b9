// The CPU performance targets of the issue "CPU performance, second round", checked against the rows
// of one run: each is met, or printed with its distance. Ratios are of medians at the same task and L,
// so they compare runs made minutes apart on the same (shared) machine.

/** Targets by heed's build: relaxed SIMD (Node 24, the main target) or plain SIMD-128 (Node 20). */
export const TARGETS = {
  relaxed: { native: 0.3, tfjsWasm: 1.8, ortWeb: 1.6 },
  plain: { native: 0.25, tfjsWasm: 1.5, ortWeb: 1.4 },
};
/** Two threads over one at L ≥ 1024, the training step over tfjs-wasm, causal over full MHA at L = 4096. */
export const SHARED_TARGETS = { threads: 1.85, train: 15, causal: 0.6 };
/** L of the single-thread speed targets, and of the causal one. */
export const TARGET_LENGTH = 1024;
export const CAUSAL_LENGTH = 4096;

const NAMES = { mha: 'MHA forward', sdpa: 'SDPA', train: 'MHA fwd+bwd' };

/** The timed row of `impl` at `task` and L, or undefined. */
function row(results, task, impl, L) {
  return results.find((r) => r.task === task && r.impl === impl && r.L === L && r.medianMs);
}

/**
 * One check: `value` against `target` in the direction `at` ('least': value ≥ target, 'most': value ≤ target).
 * `distance` says how far a missed target is: the speed-up still needed (×), or the share of time over.
 */
function check(name, value, target, at, cpuValue = null) {
  const met = at === 'least' ? value >= target : value <= target;
  const distance = met ? null : at === 'least' ? target / value : value / target;
  return { name, value, target, at, met, distance, cpuValue };
}

/**
 * The same ratio from CPU time (median × cpu/wall of each row): on a loaded machine a single-threaded
 * process gets a share of a core that differs from row to row, and its CPU time moves far less than
 * its wall time. Null when a row lacks cpu/wall.
 */
function cpuRatio(numerator, denominator) {
  if (!numerator.cpuPerWall || !denominator.cpuPerWall) return null;
  return (numerator.medianMs * numerator.cpuPerWall) / (denominator.medianMs * denominator.cpuPerWall);
}

/**
 * The checks that the rows of a run allow (a check whose rows are missing is left out and listed in
 * `missing`): heed (wasm, 1 thread) against onnxruntime native, tfjs-wasm per head and onnxruntime-web
 * (1 thread) at L = 1024 for MHA and SDPA, 2 threads over 1 at every L ≥ 1024, the training step
 * against tfjs-wasm per head, and causal MHA over full MHA at L = 4096.
 */
export function checkTargets(results) {
  const checks = [];
  const missing = [];
  const heed1 = results.find((r) => r.impl === 'heed-wasm1' && r.build);
  const build = heed1?.build?.simd === 'relaxed' ? 'relaxed' : 'plain';
  const goal = TARGETS[build];
  for (const task of ['mha', 'sdpa']) {
    const heed = row(results, task, 'heed-wasm1', TARGET_LENGTH);
    for (const [peer, key, label] of [
      ['ort-1', 'native', 'onnxruntime native (1 thread)'],
      ['tfjs-wasm-head', 'tfjsWasm', 'tfjs-wasm per head'],
      ['ortweb-1', 'ortWeb', 'onnxruntime-web (1 thread)'],
    ]) {
      const other = row(results, task, peer, TARGET_LENGTH);
      const name = `${NAMES[task]}, L = ${TARGET_LENGTH}, heed 1 thread vs ${label}`;
      if (heed && other) checks.push(check(name, other.medianMs / heed.medianMs, goal[key], 'least', cpuRatio(other, heed)));
      else missing.push(name);
    }
    const lengths = [...new Set(results.filter((r) => r.task === task && r.L >= TARGET_LENGTH).map((r) => r.L))].sort((a, b) => a - b);
    for (const L of lengths) {
      const one = row(results, task, 'heed-wasm1', L);
      const two = row(results, task, 'heed-wasm2', L);
      if (one && two)
        checks.push(
          check(`${NAMES[task]}, L = ${L}, heed 2 threads over 1 thread`, one.medianMs / two.medianMs, SHARED_TARGETS.threads, 'least'),
        );
    }
  }
  const trainHeed = results.find((r) => r.task === 'train' && r.impl === 'heed-wasm1' && r.medianMs);
  const trainPeer = trainHeed && row(results, 'train', 'tfjs-wasm-head', trainHeed.L);
  const trainName = `${NAMES.train}, heed 1 thread vs tfjs-wasm per head`;
  if (trainHeed && trainPeer)
    checks.push(
      check(
        `${trainName}, L = ${trainHeed.L}`,
        trainPeer.medianMs / trainHeed.medianMs,
        SHARED_TARGETS.train,
        'least',
        cpuRatio(trainPeer, trainHeed),
      ),
    );
  else missing.push(trainName);
  const causal = row(results, 'mha-causal', 'heed-wasm1', CAUSAL_LENGTH);
  const full = row(results, 'mha', 'heed-wasm1', CAUSAL_LENGTH);
  const causalName = `causal MHA over full MHA, L = ${CAUSAL_LENGTH}, heed 1 thread (time)`;
  if (causal && full)
    checks.push(check(causalName, causal.medianMs / full.medianMs, SHARED_TARGETS.causal, 'most', cpuRatio(causal, full)));
  else missing.push(causalName);
  return { build, checks, missing };
}

/** The checks as lines: value, target, met or how far. */
export function formatTargets({ build, checks, missing }) {
  const out = [
    `targets (issue: CPU performance, second round), for heed's ${build === 'relaxed' ? 'relaxed-SIMD build (Node 24)' : 'SIMD-128 build (Node 20)'}:`,
  ];
  const width = Math.max(0, ...checks.map((c) => c.name.length));
  for (const c of checks) {
    const sign = c.at === 'least' ? '≥' : '≤';
    const verdict = c.met
      ? 'met'
      : c.at === 'least'
        ? `NOT met: ${c.distance.toFixed(2)}× short (${((c.distance - 1) * 100).toFixed(0)} % more speed needed)`
        : `NOT met: ${((c.distance - 1) * 100).toFixed(0)} % over`;
    const cpu = c.cpuValue === null || c.cpuValue === undefined ? '' : `  [CPU time: ${c.cpuValue.toFixed(2)}×]`;
    out.push(`  ${c.name.padEnd(width)}  ${c.value.toFixed(2)}× (target ${sign} ${c.target}×)  ${verdict}${cpu}`);
  }
  if (checks.some((c) => c.cpuValue !== null && c.cpuValue !== undefined))
    out.push('  (verdicts from wall-clock medians; [CPU time] is the same ratio from CPU time, steadier when the load passes the cores)');
  if (missing.length) out.push(`  not measured in this run: ${missing.join('; ')}`);
  return out.join('\n');
}
