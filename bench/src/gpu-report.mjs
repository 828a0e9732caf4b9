// The table and the targets of `pnpm bench --gpu` (pure: rows in, text out).
//
// A row: { impl, label, task, L, status: 'ok' | 'skipped' | 'failed' | 'n/a', firstMs, medianMs, runs,
// agreement: { maxAbsDiff, relDiff }, reason }; L is null for a row that never reached a length (its process
// failed to start the implementation, or the implementation has no such task or route).

import { GPU_TASKS, REFERENCE_IMPL } from './gpu-impls.mjs';
import { flopsOf } from './problem.mjs';

export const GPU_TOLERANCE = 1e-3; // relative: max |out − heed wasm| / max |heed wasm|
/** The goals on a real GPU: MHA forward at least as fast as ONNX Runtime's WebGPU MultiHeadAttention at
 * L = 1024 … 8192, and a training step ≥ 20× heed's WebAssembly on one thread. */
export const GPU_TARGETS = { ortMha: 1, train: 20, fromLength: 1024 };
const ORT_MHA_PEERS = ['ort-webgpu', 'ortweb-webgpu'];

const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const sci = (v) => (v === 0 ? '0' : v.toExponential(1));

/** Whether a timed row disagrees with the reference beyond the tolerance (NaN disagrees). */
export function disagrees(row) {
  return row.agreement !== undefined && !(row.agreement.relDiff <= GPU_TOLERANCE);
}

function cell(row, heedGpu) {
  if (row.status !== 'ok') return [row.L ?? '—', row.reason ?? row.status];
  const gflops = flopsOf(row.task, row.L) / (row.medianMs * 1e6);
  const agreement =
    row.impl === REFERENCE_IMPL
      ? 'reference'
      : row.agreement
        ? `${sci(row.agreement.maxAbsDiff)} (${sci(row.agreement.relDiff)})${disagrees(row) ? '  !! DISAGREES' : ''}`
        : 'no reference';
  const speedUp = heedGpu && row.impl !== 'heed-webgpu' ? `${(row.medianMs / heedGpu.medianMs).toFixed(2)}×` : '';
  return [
    row.L,
    row.runs,
    ms(row.firstMs),
    ms(row.medianMs),
    gflops >= 100 ? gflops.toFixed(0) : gflops.toPrecision(3),
    agreement,
    speedUp,
  ];
}

/** The table: one line per row, columns padded; a row that did not run says why in place of its numbers. */
export function formatGpuTable(rows) {
  const header = [
    'task',
    'implementation',
    'L',
    'runs',
    'first ms',
    'median ms',
    'GFLOP/s',
    'max |Δ| vs heed wasm (rel)',
    'heed WebGPU speed-up',
  ];
  const lines = rows.map((row) => {
    const heedGpu = rows.find((r) => r.impl === 'heed-webgpu' && r.task === row.task && r.L === row.L && r.status === 'ok');
    return [GPU_TASKS[row.task], row.label, ...cell(row, heedGpu)].map(String);
  });
  const timed = lines.filter((_, i) => rows[i].status === 'ok');
  const widths = header.map((h, c) => Math.max(h.length, ...timed.map((l) => l[c].length), ...lines.map((l) => (c < 3 ? l[c].length : 0))));
  const right = (c) => c >= 2 && c !== 7;
  const format = (l, full) =>
    l
      .map((v, c) => (!full && c === l.length - 1 ? v : right(c) ? v.padStart(widths[c]) : v.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [format(header, true), ...lines.map((l, i) => format(l, rows[i].status === 'ok'))].join('\n');
}

function check(name, value, target, note = '') {
  const met = value >= target;
  return { name, value, target, met, distance: met ? null : target / value, note };
}

const timedRow = (rows, impl, task, L) => rows.find((r) => r.impl === impl && r.task === task && r.L === L && r.status === 'ok');

/** The GPU goals that the rows allow; a goal without its rows is listed in `missing`. */
export function checkGpuTargets(rows) {
  const checks = [];
  const missing = [];
  const lengths = (task) =>
    [...new Set(rows.filter((r) => r.task === task && r.L >= GPU_TARGETS.fromLength).map((r) => r.L))].sort((a, b) => a - b);
  for (const peer of ORT_MHA_PEERS) {
    const label = rows.find((r) => r.impl === peer)?.label;
    if (!label) continue;
    for (const L of lengths('mha')) {
      const name = `MHA forward, L = ${L}, heed WebGPU vs ${label}`;
      const heed = timedRow(rows, 'heed-webgpu', 'mha', L);
      const other = timedRow(rows, peer, 'mha', L);
      if (heed && other)
        checks.push(check(name, other.medianMs / heed.medianMs, GPU_TARGETS.ortMha, disagrees(other) ? ' (its output disagrees)' : ''));
      else missing.push(name);
    }
  }
  for (const L of lengths('train')) {
    const name = `train step, L = ${L}, heed WebGPU over heed wasm (1 thread)`;
    const gpu = timedRow(rows, 'heed-webgpu', 'train', L);
    const cpu = timedRow(rows, REFERENCE_IMPL, 'train', L);
    if (gpu && cpu)
      checks.push(check(name, cpu.medianMs / gpu.medianMs, GPU_TARGETS.train, disagrees(gpu) ? ' (heed WebGPU disagrees)' : ''));
    else missing.push(name);
  }
  return { checks, missing };
}

/** The checks as lines: value, target, met or how far. */
export function formatGpuTargets({ checks, missing }, { software }) {
  const out = [`targets (issue: WebGPU, "Speed on a real GPU")${software ? ' — on a software adapter: not a GPU measurement' : ''}:`];
  const width = Math.max(0, ...checks.map((c) => c.name.length));
  for (const c of checks) {
    const verdict = c.met ? 'met' : `NOT met: ${c.distance.toFixed(2)}× short`;
    out.push(`  ${c.name.padEnd(width)}  ${c.value.toFixed(2)}× (target ≥ ${c.target}×)  ${verdict}${c.note}`);
  }
  if (checks.length === 0) out.push('  none measurable in this run');
  if (missing.length) out.push(`  not measured in this run: ${missing.join('; ')}`);
  return out.join('\n');
}
