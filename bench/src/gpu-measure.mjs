// Times one implementation × task over the lengths (shared by the Node child and the browser page): per L,
// prepare (untimed), one first run (pipelines compiled, buffers allocated: timed on its own, its result is the
// compared one), then timed runs: at least one, at most `steps`, stopping once they passed `budgetMs`. A longer
// L whose run the FLOP ratio says would pass `rowLimitMs` is skipped, with the reason.

import { compare, flopsOf, makeInputs } from './problem.mjs';

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * implementation: from gpu-runners.mjs; reference: { save(L, values), get(L) } (the reference row
 * saves, the others compare). Returns one result per L: { L, status: 'ok' | 'skipped' | 'failed', ... }.
 */
export async function measureLengths(implementation, task, lengths, { steps, budgetMs, rowLimitMs }, reference) {
  const results = [];
  let stop = null; // why the longer lengths are skipped
  for (const [i, L] of lengths.entries()) {
    if (stop !== null) {
      results.push({ L, status: 'skipped', reason: stop });
      continue;
    }
    let runner = null;
    try {
      runner = await implementation.prepare(L, makeInputs(task, L));
      let start = performance.now();
      const values = await runner.run(true);
      const firstMs = performance.now() - start;
      const times = [];
      while (times.length < steps && (times.length === 0 || times.reduce((a, b) => a + b, 0) < budgetMs)) {
        start = performance.now();
        await runner.run(false);
        times.push(performance.now() - start);
      }
      const result = { L, status: 'ok', firstMs, medianMs: median(times), runs: times.length };
      const saved = reference.get(L);
      if (saved === undefined) reference.save(L, values);
      else if (saved !== null) Object.assign(result, { agreement: compare(values, saved) });
      results.push(result);
      const next = lengths[i + 1];
      const estimateMs = next ? (result.medianMs * flopsOf(task, next)) / flopsOf(task, L) : 0;
      if (estimateMs > rowLimitMs) stop = `a run would take ≈ ${(estimateMs / 1000).toFixed(0)} s (--row-limit-s=${rowLimitMs / 1000})`;
    } catch (error) {
      results.push({
        L,
        status: 'failed',
        reason: String(error?.message ?? error)
          .split('\n')[0]
          .slice(0, 300),
      });
      stop = `stopped after the failure at L = ${L}`; // out of memory, a lost device: the longer lengths would fail too
    } finally {
      try {
        await runner?.dispose();
      } catch {}
    }
  }
  return results;
}
