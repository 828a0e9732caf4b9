// pnpm bench --gpu [--lengths=512,1024,…] [--steps=N] [--only=id,…] [--no-train] [--browser] [--require-gpu] [--out=DIR]
//
// heed on WebGPU against its peers on the GPU — onnxruntime-node's and onnxruntime-web's WebGPU execution
// providers (com.microsoft.MultiHeadAttention), tfjs-backend-webgpu — and against heed on the CPU (WebAssembly,
// one thread: the reference of the agreement column), same inputs (problem.mjs): a MultiHeadAttention(512, 8)
// self-attention forward, and one training step (forward, loss Σ out ⊙ g, backward, Adam). Rows are listed in
// gpu-impls.mjs; each implementation × task runs in its own process (gpu-child.mjs).
//
// In Node WebGPU comes from the `webgpu` package (Dawn) on whatever adapter it finds. Where it finds none, the
// bench re-runs itself on SwiftShader (the software Vulkan driver inside @sparticuz/chromium, as @heed/webgpu's
// tests do) and says so — unless --require-gpu. A software adapter measures correctness and overheads, not GPU
// speed; the header names the adapter. --browser runs the same rows in a page of headless Chromium (gpu-browser.mjs).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_PREFIX } from './gpu-result.mjs';
import { GPU_TASKS, planGpuRows, whyNot } from './gpu-impls.mjs';
import { parseGpuOptions } from './gpu-options.mjs';
import { finish, probeAdapter } from './gpu-finish.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** Re-runs this bench on SwiftShader: the environment must be set before the process starts (the loader reads it). */
async function rerunOnSwiftShader(argv) {
  const { findChromium } = await import('../../scripts/chromium.mjs');
  const { path } = await findChromium(join(here, '..'), { allowOverride: false });
  const icd = join(dirname(path), 'vk_swiftshader_icd.json');
  if (!existsSync(icd)) throw new Error(`pnpm bench --gpu: no GPU adapter, and no SwiftShader driver at ${icd}`);
  console.log('No GPU adapter found by Dawn: running on SwiftShader (a software adapter: not a GPU speed measurement).');
  const env = {
    ...process.env,
    VK_ICD_FILENAMES: icd,
    LD_LIBRARY_PATH: [dirname(path), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    HEED_BENCH_GPU_SOFTWARE: '1',
  };
  return spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...argv], { stdio: 'inherit', env }).status ?? 1;
}

/** Runs one implementation × task in a child process; resolves to its RESULT (or { error }). */
function runChild(args, timeoutMs) {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...process.execArgv, join(here, 'gpu-child.mjs'), JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (line) return done(JSON.parse(line.slice(RESULT_PREFIX.length)));
      const last = stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
      done({
        error: timedOut
          ? `timed out after ${(timeoutMs / 1000).toFixed(0)} s (--child-timeout-s, --total-s)`
          : `its process ended (${signal ?? `code ${code}`}) without a result: ${last.slice(0, 200)}`,
      });
    });
  });
}

/** The rows of one implementation × task from its result. */
export function rowsOf(impl, task, result) {
  const base = { impl: impl.id, label: impl.label, task };
  if (result.error) return [{ ...base, L: null, status: 'failed', reason: result.error }];
  return result.results.map((r) => ({ ...base, ...r }));
}

/** Runs the GPU bench; resolves to the exit code. */
export async function runGpuBench(argv) {
  const options = parseGpuOptions(argv);
  const out = options.out ? resolve(process.env.INIT_CWD ?? process.cwd(), options.out) : join(here, '..', 'results');
  if (options.browser) {
    const { runGpuBrowser } = await import('./gpu-browser.mjs');
    return runGpuBrowser(options, out);
  }
  const adapter = await probeAdapter();
  if (adapter === null) {
    if (options.requireGpu)
      throw new Error(
        'pnpm bench --gpu --require-gpu: Dawn (the `webgpu` package) finds no GPU adapter (Vulkan driver? VK_ICD_FILENAMES?)',
      );
    if (process.env.HEED_BENCH_GPU_SOFTWARE) throw new Error('pnpm bench --gpu: no adapter even on SwiftShader');
    return rerunOnSwiftShader(argv);
  }
  const software =
    Boolean(process.env.HEED_BENCH_GPU_SOFTWARE) ||
    /swiftshader/i.test(`${adapter.architecture} ${adapter.description}`) ||
    adapter.isFallbackAdapter;
  if (software && options.requireGpu)
    throw new Error(`pnpm bench --gpu --require-gpu: the adapter is a software one (${adapter.vendor} / ${adapter.architecture})`);
  const adapterText = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter(Boolean).join(' / ');
  const header = [
    `adapter (Dawn, the \`webgpu\` package): ${adapterText}${software ? '  — SOFTWARE (SwiftShader): not a GPU speed measurement' : ''}`,
    `CPU: ${cpus()[0]?.model ?? '?'} × ${cpus().length}; Node ${process.versions.node}; route: Node`,
    `MultiHeadAttention(512, 8), full attention, x [1, L, 512], batch 1, float32; per L: one first run (compiles), then the median of up to ${options.steps} runs (${options.budgetMs / 1000} s budget)`,
  ];
  console.log(header.join('\n'));
  const runStart = performance.now();
  const refDir = mkdtempSync(join(tmpdir(), 'heed-gpu-bench-'));
  const rows = [];
  try {
    for (const { impl, task } of planGpuRows(options)) {
      const reason = whyNot(impl, task, 'node');
      if (reason) {
        rows.push({ impl: impl.id, label: impl.label, task, L: null, status: 'n/a', reason });
        continue;
      }
      const started = performance.now();
      const leftMs = options.totalMs === null ? Infinity : options.totalMs - (started - runStart);
      if (leftMs < 20_000) {
        rows.push({
          impl: impl.id,
          label: impl.label,
          task,
          L: null,
          status: 'skipped',
          reason: `not started: the --total-s=${options.totalMs / 1000} budget is spent`,
        });
        continue;
      }
      const args = {
        id: impl.id,
        task,
        lengths: options.lengths,
        steps: options.steps,
        budgetMs: options.budgetMs,
        rowLimitMs: options.rowLimitMs,
        refDir,
      };
      const result = await runChild(args, Math.min(options.childTimeoutMs, leftMs - 10_000));
      const got = rowsOf(impl, task, result);
      rows.push(...got);
      const summary = got
        .map((r) => (r.status === 'ok' ? `${r.L}: ${r.medianMs.toFixed(1)} ms` : `${r.L ?? ''} ${r.status}: ${r.reason}`))
        .join(', ');
      console.log(
        `  ${GPU_TASKS[task]}, ${impl.label} (${((performance.now() - started) / 1000).toFixed(1)} s): ${summary}${result.info?.detail ? `  [${result.info.detail}]` : ''}`,
      );
    }
  } finally {
    rmSync(refDir, { recursive: true, force: true });
  }
  return finish(rows, {
    header,
    software,
    out,
    meta: { route: 'node', adapter, node: process.versions.node, cpu: cpus()[0]?.model, options, date: new Date().toISOString() },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(await runGpuBench(process.argv.slice(2)));
