import { describe, expect, it } from 'vitest';
import { createOrtWeb } from './impl-ort-web.mjs';
import { mhaReference, sdpaReference } from './attention-reference.mjs';
import { causalAdditiveMask, compare, makeInputs, makeWeights } from './problem.mjs';

// onnxruntime-web's WebAssembly backend in Node, set up the way the bench's ortweb-2 rows are (its
// thread count is fixed for the process when its runtime starts, so this file checks 2 threads).
describe('onnxruntime-web (wasm backend, 2 threads) computes attention on the bench graphs', () => {
  const L = 8;
  const warmUp = { minMs: 0, maxMs: 2000 }; // the bench warms up for 3 s or more; the tests need only a few runs

  it('starts its second thread and says so in the build', async () => {
    const peer = await createOrtWeb(2, 'sdpa', { warmUp });
    expect(peer.info.build).toMatchObject({ kind: 'wasm', simd: 'plain', threadsAsked: 2, threads: 2 });
    expect(peer.info.warmUp.runs).toBeGreaterThan(0); // how many depends on the machine's load (capped by maxMs)
  }, 60_000);

  it('SDPA, plain and causal', async () => {
    for (const causal of [false, true]) {
      const peer = await createOrtWeb(2, 'sdpa', { causal, warmUp });
      const inputs = makeInputs('sdpa', L);
      const runner = await peer.prepare(L, inputs);
      const out = await runner.run();
      const ref = sdpaReference(inputs.q, inputs.k, inputs.v, L, causal ? causalAdditiveMask(L) : null);
      expect(compare(out, ref).relDiff).toBeLessThan(1e-5);
      runner.dispose();
    }
  }, 60_000);

  it('MHA forward with heed-layout weights', async () => {
    const peer = await createOrtWeb(2, 'mha', { warmUp });
    const inputs = makeInputs('mha', L);
    const runner = await peer.prepare(L, inputs);
    const out = await runner.run();
    expect(compare(out, mhaReference(inputs.x, makeWeights(), L)).relDiff).toBeLessThan(1e-5);
    runner.dispose();
  }, 60_000);

  it('has no training rows', async () => {
    await expect(createOrtWeb(2, 'train')).rejects.toThrow(/no training API/);
  });
});
