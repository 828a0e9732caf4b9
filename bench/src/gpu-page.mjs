// The page of `pnpm bench --gpu --browser` (bundled by gpu-browser.mjs with esbuild): the same rows as the Node
// route, in one page of headless Chromium, on navigator.gpu. Rows run one after another in the page; the
// reference (heed wasm, 1 thread) keeps its values in memory and every other row is compared with them.

import { measureLengths } from './gpu-measure.mjs';
import { GPU_IMPLS, REFERENCE_IMPL, planGpuRows, whyNot } from './gpu-impls.mjs';
import { adapterName, createHeed, createOrtWebGpu, createTfjsWebgpu } from './gpu-runners.mjs';

async function createImplementation(id, task) {
  const gpu = navigator.gpu;
  if (id === 'heed-wasm1') return createHeed('cpu', task, {});
  if (id === 'heed-webgpu') return createHeed('webgpu', task, { gpu });
  if (id === 'tfjs-webgpu') return createTfjsWebgpu(task);
  if (id === 'ortweb-webgpu')
    return createOrtWebGpu(task, await import('onnxruntime-web/webgpu'), { wasmPaths: `${location.origin}/ort/` });
  throw new Error(`gpu-page: no browser implementation ${id}`);
}

/** Rejects after `ms` (the row's work may go on in the page; the row is reported as timed out). */
const deadline = (ms) =>
  new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${(ms / 1000).toFixed(0)} s in the page`)), ms));

globalThis.heedGpuBench = async (options) => {
  const adapter = navigator.gpu ? await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' }) : null;
  const info = adapter?.info ?? null;
  const references = { mha: new Map(), train: new Map() };
  const rows = [];
  const start = performance.now();
  for (const { impl, task } of planGpuRows(options)) {
    const base = { impl: impl.id, label: impl.label, task };
    const reason =
      whyNot(impl, task, 'browser') ?? (impl.id !== REFERENCE_IMPL && !navigator.gpu ? 'no navigator.gpu in this browser' : null);
    if (reason) {
      rows.push({ ...base, L: null, status: 'n/a', reason });
      continue;
    }
    const leftMs = options.totalMs === null ? Infinity : options.totalMs - (performance.now() - start);
    if (leftMs < 20_000) {
      rows.push({ ...base, L: null, status: 'skipped', reason: 'not started: the --total-s budget is spent' });
      continue;
    }
    const saved = references[task];
    const reference = {
      get: (L) => (saved.has(L) ? saved.get(L) : impl.id === REFERENCE_IMPL ? undefined : null),
      save: (L, values) => saved.set(L, values),
    };
    const t0 = performance.now();
    try {
      const work = (async () => measureLengths(await createImplementation(impl.id, task), task, options.lengths, options, reference))();
      const results = await Promise.race([work, deadline(Math.min(options.childTimeoutMs, leftMs - 10_000))]);
      rows.push(...results.map((r) => ({ ...base, ...r })));
      console.log(
        `  ${task}, ${impl.label} (${((performance.now() - t0) / 1000).toFixed(1)} s): ${results.map((r) => (r.status === 'ok' ? `${r.L}: ${r.medianMs.toFixed(1)} ms` : `${r.L} ${r.status}`)).join(', ')}`,
      );
    } catch (error) {
      rows.push({
        ...base,
        L: null,
        status: 'failed',
        reason: String(error?.message ?? error)
          .split('\n')[0]
          .slice(0, 300),
      });
      console.log(`  ${task}, ${impl.label}: failed: ${error?.message ?? error}`);
    }
  }
  return {
    adapter: info ? { name: adapterName(info), vendor: info.vendor, architecture: info.architecture, description: info.description } : null,
    userAgent: navigator.userAgent,
    implementations: GPU_IMPLS.length,
    rows,
  };
};
