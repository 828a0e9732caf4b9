// The ONNX round trips are programs a user runs: this test runs each with this Node (the workspace
// packages' built dist, as `pnpm test` builds them first) and checks what it prints — ONNX Runtime's
// answers are heed's.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = async (script: string, ...args: string[]): Promise<string> =>
  (await promisify(execFile)(process.execPath, [join(root, 'examples', script), ...args], { cwd: root, timeout: 170_000 })).stdout;

describe('examples: train in heed, serve with ONNX Runtime', () => {
  it('onnx-dates.mjs: the demo date model, exported whole, decodes the held-out dates as heed does', async () => {
    const out = await run('onnx-dates.mjs');
    const rows = out.split('\n').filter((line) => line.includes(' heed ') && line.includes(' onnxruntime '));
    expect(rows).toHaveLength(8);
    for (const row of rows) {
      const [, fromHeed, fromOnnx, expected] = /heed (\S+) {2}onnxruntime (\S+) {2}\(expected (\S+)\)/.exec(row)!;
      expect(fromOnnx, row).toBe(fromHeed);
      expect(fromHeed, row).toBe(expected);
    }
    const relative = Number(/relative ([\d.e+-]+)\)/.exec(out)![1]);
    expect(relative).toBeLessThanOrEqual(1e-5);
    expect(out).toContain("onnxruntime gives heed's answer for 8/8 dates; 8/8 are right");
  });

  it("onnx-roundtrip.mjs: a trained MultiHeadAttention layer answers as heed's", async () => {
    const out = await run('onnx-roundtrip.mjs');
    const answers = (who: string): string => new RegExp(`${who} answers: +(.+)`).exec(out)![1]!;
    expect(answers('ONNX Runtime')).toBe(answers('heed'));
    expect(Number(/max \|heed − onnxruntime\| = (\S+)/.exec(out)![1])).toBeLessThanOrEqual(1e-5);
  });
});
