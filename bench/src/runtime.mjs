// The Node binary and flags every child process runs under: the parent's own runtime flags
// (process.execArgv, e.g. --experimental-wasm-relaxed-simd) plus the bench's, under the parent's
// Node or the one given with --node PATH. Checked once up front, so the report can say which
// Node and V8 ran the children, and which flags that binary refused.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Flags the bench itself gives every child. */
export const BENCH_FLAGS = ['--expose-gc', '--max-old-space-size=8192'];

/** A flag's name: `--max-old-space-size=8192` -> `--max-old-space-size`. */
const nameOf = (flag) => flag.split('=')[0];

/**
 * The children's execArgv: the parent's runtime flags, then `extra` (from --node-flags), then the
 * bench's own; a later flag of the same name replaces an earlier one. Debugger flags stay with the
 * parent (a second process on the same inspector port would fail to start).
 */
export function childExecArgv(parentExecArgv, extra = []) {
  const merged = new Map();
  for (const flag of [...parentExecArgv, ...extra, ...BENCH_FLAGS]) {
    if (/^--(inspect|debug)/.test(flag)) continue;
    merged.delete(nameOf(flag)); // re-insert: the last one wins and keeps its place
    merged.set(nameOf(flag), flag);
  }
  return [...merged.values()];
}

/** Runs `node <flags> -p <expr>` and returns { ok, stdout, stderr }. */
function probe(execPath, flags, expression) {
  const r = spawnSync(execPath, [...flags, '-p', expression], { encoding: 'utf8', timeout: 120_000 });
  return { ok: r.status === 0, stdout: r.stdout?.trim() ?? '', stderr: (r.stderr || r.error?.message || '').trim() };
}

/**
 * Resolves the children's runtime: { execPath, execArgv, node, v8, dropped: [{ flag, reason }] }.
 * Each flag the binary refuses (Node 24 has no --experimental-wasm-relaxed-simd: relaxed SIMD is on
 * by default there) is dropped and reported, never silently.
 */
export function resolveRuntime({ nodePath = process.execPath, parentExecArgv = process.execArgv, extraFlags = [] } = {}) {
  if (!existsSync(nodePath)) throw new Error(`--node ${nodePath}: no such file`);
  const base = probe(nodePath, [], 'JSON.stringify({ node: process.version, v8: process.versions.v8 })');
  if (!base.ok) throw new Error(`--node ${nodePath} does not run: ${base.stderr.split('\n')[0]}`);
  const { node, v8 } = JSON.parse(base.stdout);
  const execArgv = [];
  const dropped = [];
  for (const flag of childExecArgv(parentExecArgv, extraFlags)) {
    const r = probe(nodePath, [flag], '0');
    if (r.ok) execArgv.push(flag);
    else dropped.push({ flag, reason: r.stderr.split('\n')[0] || 'refused' });
  }
  return { execPath: nodePath, execArgv, node, v8, dropped };
}
