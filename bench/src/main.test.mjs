import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RELAXED_MADD_MODULE } from './relaxed-madd-module.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** Whether `node <flags>` validates relaxed SIMD (asked in a process of its own). */
function engineValidatesRelaxed(flags) {
  const code = `process.exit(WebAssembly.validate(Uint8Array.from(${JSON.stringify([...RELAXED_MADD_MODULE])})) ? 0 : 1)`;
  return spawnSync(process.execPath, [...flags, '-e', code]).status === 0;
}

describe('pnpm bench, end to end on one heed row', () => {
  it("passes the parent's runtime flags to its children and labels the build they ran", () => {
    const out = mkdtempSync(join(tmpdir(), 'heed-bench-test-'));
    try {
      const parentFlags = ['--expose-gc', '--experimental-wasm-relaxed-simd'];
      const run = spawnSync(process.execPath, [...parentFlags, join(here, 'main.mjs'), '--quick', '--only=heed-wasm1', '--no-train', '--lengths=128', `--out=${out}`], { encoding: 'utf8', timeout: 150_000 });
      expect(run.status, run.stderr).toBe(0);
      const { meta, results } = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
      const accepted = meta.runtime.execArgv;
      // This Node either takes the flag (Node 20) or refuses it and says so (Node 24: relaxed SIMD is on anyway).
      if (meta.runtime.dropped.length === 0) expect(accepted).toContain('--experimental-wasm-relaxed-simd');
      else expect(meta.runtime.dropped.map((d) => d.flag)).toEqual(['--experimental-wasm-relaxed-simd']);
      for (const child of meta.runtime.reportedByChildren) expect(child).toEqual({ node: process.version, v8: process.versions.v8, execArgv: accepted });
      const simd = engineValidatesRelaxed(accepted) ? 'relaxed' : 'plain';
      expect(results.map((r) => [r.task, r.L, r.build.simd, r.buildLabel])).toEqual([
        ['mha', 128, simd, `wasm ${simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD-128'} ×1`],
        ['sdpa', 128, simd, `wasm ${simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD-128'} ×1`],
      ]);
      expect(run.stdout).toContain(`children: node ${process.version} (V8 ${process.versions.v8})`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
