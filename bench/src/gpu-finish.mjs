// The end of both routes of `pnpm bench --gpu` (gpu.mjs, gpu-browser.mjs): the adapter probe, and the table,
// targets and files of a run.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPU_TASKS, tableOrder } from './gpu-impls.mjs';
import { GPU_TOLERANCE, checkGpuTargets, disagrees, formatGpuTable, formatGpuTargets } from './gpu-report.mjs';

/** The adapter Dawn (the `webgpu` package) finds in this process, or null. */
export async function probeAdapter() {
  const { create } = await import('webgpu');
  const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) return null;
  const { vendor, architecture, device, description } = adapter.info;
  return {
    vendor,
    architecture,
    device,
    description,
    isFallbackAdapter: adapter.info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
  };
}

/** Prints the table and targets, writes gpu-latest.json and gpu-table.txt; resolves to the exit code. */
export function finish(unordered, { header, software, out, meta }) {
  const rows = tableOrder(unordered);
  const table = formatGpuTable(rows);
  const targets = formatGpuTargets(checkGpuTargets(rows), { software });
  const text = `${header.join('\n')}\n\n${table}\n\n${targets}\n`;
  console.log(`\n${table}\n\n${targets}`);
  const heedRows = rows.filter((r) => r.impl.startsWith('heed'));
  const heedBad = heedRows.filter((r) => r.status === 'failed' || disagrees(r));
  const peersBad = rows.filter((r) => !r.impl.startsWith('heed') && disagrees(r));
  if (peersBad.length)
    console.log(
      `\nnote: ${peersBad.map((r) => `${r.label} at L = ${r.L}`).join(', ')} disagree${peersBad.length === 1 ? 's' : ''} with heed wasm beyond ${GPU_TOLERANCE} relative (a finding about the peer, listed, not a bench failure)`,
    );
  if (heedBad.length)
    console.log(
      `\nFAILED: ${heedBad.map((r) => `${r.label}, ${GPU_TASKS[r.task]}${r.L ? `, L = ${r.L}` : ''}: ${r.reason ?? 'disagrees'}`).join('; ')}`,
    );
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'gpu-latest.json'), `${JSON.stringify({ ...meta, software, rows, targets: checkGpuTargets(rows) }, null, 2)}\n`);
  writeFileSync(join(out, 'gpu-table.txt'), text);
  console.log(`\nwrote ${join(out, 'gpu-latest.json')} and gpu-table.txt`);
  return heedBad.length ? 1 : 0;
}
