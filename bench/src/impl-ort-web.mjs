// ONNX Runtime Web (onnxruntime-web), its WebAssembly backend, 1 or 2 threads. In Node its package
// entry loads ort-wasm-simd-threaded.wasm from its own dist folder (no network) and runs extra
// threads as worker_threads; `env.wasm.numThreads` must be set before the first session starts it.

import * as ort from 'onnxruntime-web';
import { sdpaModel } from './onnx.mjs';
import { makeInputs } from './problem.mjs';
import { osThreadCount, threadsStarted } from './os-threads.mjs';
import { ortPeer } from './ort-peer.mjs';

/**
 * V8 first runs a wasm module's functions from its baseline compiler (Liftoff) and moves the hot ones
 * to the optimizing one (TurboFan) in the background; for ORT's large module that takes seconds and
 * many runs (an MHA forward at L = 128 goes from ≈ 400 ms to ≈ 30 ms). A steady-state bench must
 * not time that, so the child first runs the task's graph at a small L until it is steady: at least
 * `minMs` and 10 runs, then until the last 3 runs are within 20 % of each other, at most `maxMs`.
 */
async function warmUp(runner, { minMs = 3000, maxMs = 10_000 } = {}) {
  const times = [];
  const start = performance.now();
  for (;;) {
    const t0 = performance.now();
    await runner.run();
    times.push(performance.now() - t0);
    const elapsed = performance.now() - start;
    const last = times.slice(-3);
    const steady = times.length >= 10 && elapsed >= minMs && Math.max(...last) <= 1.2 * Math.min(...last);
    if (steady || elapsed >= maxMs) break;
  }
  return { runs: times.length, seconds: (performance.now() - start) / 1000, firstMs: times[0], lastMs: times.at(-1) };
}

/** options: { causal, warmUp: { minMs, maxMs } of the steady-state warm-up (default 3 s … 10 s) }. */
export async function createOrtWeb(threads, task, { warmUp: warmUpOptions, ...options } = {}) {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  const sessionOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all', executionMode: 'sequential' };
  // Start the runtime (its wasm module and thread pool) on a tiny graph, counting the threads it adds.
  const before = osThreadCount();
  const probe = await ort.InferenceSession.create(sdpaModel(8), sessionOptions);
  await probe.release();
  const started = threadsStarted(before, osThreadCount(), threads);
  const peer = ortPeer(ort, sessionOptions, {}, task, options);
  let warm = null;
  if (task !== 'train') {
    const L = 128;
    const runner = await peer.prepare(L, makeInputs(task, L));
    warm = await warmUp(runner, warmUpOptions);
    runner.dispose();
  }
  const warmText = warm
    ? `; warmed up on L = 128 until steady: ${warm.runs} runs in ${warm.seconds.toFixed(1)} s, ${warm.firstMs.toFixed(0)} -> ${warm.lastMs.toFixed(0)} ms`
    : '';
  peer.info.kernels = `wasm EP (ort-wasm-simd-threaded), env.wasm.numThreads ${threads}, onnxruntime-web ${ort.env.versions?.web ?? '?'}${warmText}`;
  peer.info.build = {
    kind: 'wasm',
    simd: 'plain',
    threads: started,
    threadsAsked: threads,
    source: 'env.wasm.numThreads; threads from the worker threads it started',
  };
  peer.info.warmUp = warm;
  return peer;
}
