import { describe, expect, it } from 'vitest';
import { BENCH_FLAGS, childExecArgv, resolveRuntime } from './runtime.mjs';

describe("children's runtime flags", () => {
  it("pass the parent's flags on, then the bench's own", () => {
    expect(childExecArgv(['--experimental-wasm-relaxed-simd', '--expose-gc'])).toEqual([
      '--experimental-wasm-relaxed-simd',
      ...BENCH_FLAGS,
    ]);
  });

  it('let a later flag of the same name win, and keep debugger flags in the parent', () => {
    expect(childExecArgv(['--max-old-space-size=1024', '--inspect=9229'], ['--stack-size=2000'])).toEqual([
      '--stack-size=2000',
      '--expose-gc',
      '--max-old-space-size=8192',
    ]);
  });

  it('drop, and report, a flag the binary refuses', () => {
    const runtime = resolveRuntime({ parentExecArgv: ['--no-warnings', '--no-such-flag-for-heed-bench'] });
    expect(runtime.node).toBe(process.version);
    expect(runtime.v8).toBe(process.versions.v8);
    expect(runtime.execArgv).toEqual(['--no-warnings', ...BENCH_FLAGS]);
    expect(runtime.dropped.map((d) => d.flag)).toEqual(['--no-such-flag-for-heed-bench']);
    expect(runtime.dropped[0].reason).toMatch(/bad option/);
  }, 120_000);

  it('fail clearly for a --node path that does not exist', () => {
    expect(() => resolveRuntime({ nodePath: '/nonexistent/node' })).toThrow(/--node \/nonexistent\/node: no such file/);
  });
});
