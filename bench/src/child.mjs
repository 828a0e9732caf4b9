// One child process = one implementation on one task (all its lengths, ascending), so each
// implementation's memory, JIT state and thread pools are its own. Started by main.mjs with
// `node --expose-gc`; reports over IPC: { type: 'info' | 'row' | 'skip' | 'error' | 'done', ... }.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, flopsOf, makeInputs } from './problem.mjs';
import { IMPLS } from './impls.mjs';

const job = JSON.parse(process.argv[2]);
const send = (msg) => new Promise((resolve) => process.send(msg, resolve));
const gc = globalThis.gc ?? (() => {});
const MB = 1024 * 1024;

/** Resets the kernel's peak-RSS counter (VmHWM) so each length gets its own peak; false where not allowed. */
function resetPeak() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
function peakRssBytes() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function timed(run) {
  const t0 = performance.now();
  const out = await run();
  return { ms: performance.now() - t0, out };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const impl = IMPLS[job.impl];
  const setup = await impl.load(job.task, {
    causal: job.causal,
    ...(job.window ? { window: job.window } : {}),
    ...(job.steadyWarmUp ? { warmUp: job.steadyWarmUp } : {}),
  });
  await send({
    type: 'info',
    info: { ...setup.info, runtime: { node: process.version, v8: process.versions.v8, execArgv: process.execArgv } },
  });
  const lengths = job.lengths;
  for (let i = 0; i < lengths.length; i++) {
    const L = lengths[i];
    const inputs = makeInputs(job.task, L);
    const runner = await setup.prepare(L, inputs);
    gc();
    const peakReset = resetPeak();
    const baseRss = process.memoryUsage().rss;
    const times = [];
    let out = null;
    let first = null;
    for (let w = 0; w < job.warmup; w++) {
      const r = await timed(runner.run);
      first ??= r.ms;
      out = r.out;
    }
    const perRun = first ?? Infinity;
    const runs = Math.max(job.minRuns, Math.min(job.maxRuns, Math.floor(job.budgetMs / perRun)));
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let r = 0; r < runs; r++) {
      const t = await timed(runner.run);
      times.push(t.ms);
      out = t.out;
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuPerWall = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0); // ≈ threads kept busy
    const peak = peakRssBytes();
    const row = {
      L,
      runs: times.length,
      warmup: job.warmup,
      medianMs: median(times),
      minMs: Math.min(...times),
      timesMs: times.map((t) => Math.round(t * 100) / 100),
      cpuPerWall,
      peakRssMB: peak / MB,
      peakOverBaseMB: peakReset ? (peak - baseRss) / MB : null,
      baseRssMB: baseRss / MB,
      arrayBuffersMB: process.memoryUsage().arrayBuffers / MB,
    };
    // Agreement with heed: the first heed row at this length writes the reference, every row compares.
    const refFile = join(job.refDir, `${job.task}${job.causal ? '-causal' : ''}${job.window ? `-window${job.window}` : ''}-${L}.f32`);
    const output = out instanceof Float32Array ? out : Float32Array.from(out);
    if (existsSync(refFile)) {
      const raw = readFileSync(refFile);
      const ref = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      Object.assign(row, compare(output, ref), { refImpl: readFileSync(`${refFile}.impl`, 'utf8') });
    } else if (IMPLS[job.impl].family === 'heed') {
      writeFileSync(refFile, new Uint8Array(output.buffer, output.byteOffset, output.byteLength));
      writeFileSync(`${refFile}.impl`, job.impl);
      Object.assign(row, { maxAbsDiff: 0, relDiff: 0, refImpl: job.impl });
    }
    runner.dispose?.();
    out = null;
    await send({ type: 'row', row });
    // Skip the longer lengths whose warm-up + minimum runs would take more than the row limit.
    const next = lengths[i + 1];
    if (next !== undefined) {
      const estimate = row.minMs * (flopsOf(job.task, next) / flopsOf(job.task, L));
      if ((job.warmup + job.minRuns) * estimate > job.rowLimitMs) {
        for (const Ls of lengths.slice(i + 1)) {
          await send({
            type: 'skip',
            L: Ls,
            reason: `est. ${(estimate / 1000).toFixed(1)} s/run × ${job.warmup + job.minRuns} > ${job.rowLimitMs / 1000} s limit`,
          });
        }
        break;
      }
    }
  }
  await send({ type: 'done' });
}

main().then(
  () => process.exit(0),
  async (err) => {
    await send({ type: 'error', message: String(err?.stack ?? err) });
    process.exit(1);
  },
);
