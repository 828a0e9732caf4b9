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
  it("runs its children under --node with the parent's runtime flags and labels the build they ran", () => {
    const out = mkdtempSync(join(tmpdir(), 'heed-bench-test-'));
    try {
      // Node 20 takes --experimental-wasm-relaxed-simd (as the parent's flag); Node 24 refuses it (relaxed
      // SIMD is on there): then the parent gets another flag, and the refused one comes through --node-flags.
      const relaxedFlag = '--experimental-wasm-relaxed-simd';
      const takesRelaxedFlag = spawnSync(process.execPath, [relaxedFlag, '-e', '0']).status === 0;
      const parentFlags = ['--expose-gc', takesRelaxedFlag ? relaxedFlag : '--no-warnings'];
      const extra = takesRelaxedFlag ? [] : [`--node-flags=${relaxedFlag}`];
      const run = spawnSync(
        process.execPath,
        [
          ...parentFlags,
          join(here, 'main.mjs'),
          '--quick',
          '--only=heed-wasm1',
          '--no-train',
          '--lengths=128',
          `--out=${out}`,
          '--node',
          process.execPath,
          ...extra,
        ],
        { encoding: 'utf8', timeout: 150_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      const { meta, results } = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
      const accepted = meta.runtime.execArgv;
      expect(meta.runtime.execPath).toBe(process.execPath);
      expect(accepted).toContain(parentFlags[1]);
      expect(meta.runtime.dropped.map((d) => d.flag)).toEqual(takesRelaxedFlag ? [] : [relaxedFlag]);
      for (const child of meta.runtime.reportedByChildren)
        expect(child).toEqual({ node: process.version, v8: process.versions.v8, execArgv: accepted });
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
