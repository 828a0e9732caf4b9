// The work every runtime does in the smoke test (scripts/smoke/runtimes.mjs runs this file under Node,
// Deno and Bun and compares the numbers): imports every @heed package from its built dist (ESM and
// CommonJS), runs the quickstart (examples/quickstart.mjs), switches to the WebAssembly kernels, runs one
// MultiHeadAttention forward and one Adam training step. Prints one line: `SMOKE_RESULT {json}`.
// Needs `pnpm build` first. Plain JavaScript on purpose: no runtime-specific API.
import { createRequire } from 'node:module';

const PACKAGES = ['tensor', 'scorers', 'soft-attention', 'self-attention', 'multi-head'];
const root = new URL('../../', import.meta.url);
const require = createRequire(import.meta.url);

const modules = {};
const exportsSeen = {};
for (const name of PACKAGES) {
  const esm = await import(new URL(`packages/${name}/dist/index.js`, root).href);
  const cjs = require(new URL(`packages/${name}/dist/index.cjs`, root).pathname);
  const esmNames = Object.keys(esm).sort();
  const cjsNames = Object.keys(cjs)
    .filter((key) => key !== '__esModule' && key !== 'default')
    .sort();
  if (esmNames.length === 0 || esmNames.join() !== cjsNames.join()) {
    throw new Error(
      `@heed/${name}: the ESM and CommonJS builds export different names:\n  esm ${esmNames.join(', ')}\n  cjs ${cjsNames.join(', ')}`,
    );
  }
  modules[name] = esm;
  exportsSeen[name] = esmNames.length;
}
const { Adam, mseLoss, randn, Rng, sum, useWasmKernels } = modules.tensor;
const { attend } = modules['soft-attention'];
const { MultiHeadAttention } = modules['multi-head'];
const { SelfAttention } = modules['self-attention'];
const { createScorer } = modules.scorers;

const numbers = (t) => Array.from(t.data);
const result = { exports: exportsSeen };

// ---- the quickstart (examples/quickstart.mjs), on the plain TypeScript kernels
{
  const rng = new Rng(3);
  const query = randn([1, 3, 4], rng); // [B=1, Lq=3, d=4]
  const keys = randn([1, 4, 4], rng); // [B=1, Lk=4, d=4]
  const values = randn([1, 4, 2], rng); // [B=1, Lk=4, dv=2]
  const { weights, context } = attend({ query, keys, values, scorer: { kind: 'dot' }, normalizer: { kind: 'sparsemax' } });
  const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2, scorer: { kind: 'additive' }, rng });
  const { output } = layer.forward(query, keys, keys, { causal: true }); // [1, 3, 4]
  sum(output).backward();
  result.quickstart = {
    weights: numbers(weights),
    context: numbers(context),
    output: numbers(output),
    parameters: layer.parameters().length,
    scorerGrad: numbers(layer.scorers[0].W1.weight.grad),
  };
  // one more package on the same inputs: self-attention with a general scorer
  const self = new SelfAttention({ inputDim: 4, keyDim: 4, valueDim: 2, scorer: { kind: 'general' }, rng });
  result.quickstart.selfAttention = numbers(self.forward(query).output);
  result.quickstart.cosineScores = numbers(createScorer({ kind: 'cosine' }).score(query, keys));
}

// ---- WebAssembly kernels, one MultiHeadAttention forward and one Adam step
/** [B=2, L=16, E=32] inputs, a 4-head layer with grouped key/value heads (fused attention path). */
function problem() {
  const rng = new Rng(11);
  const x = randn([2, 16, 32], rng); // [B, L, E]
  const target = randn([2, 16, 32], rng); // [B, L, E]
  const layer = new MultiHeadAttention({ embedDim: 32, numHeads: 4, numKeyValueHeads: 2, rng });
  return { x, target, layer };
}

// The engine's default build (relaxed SIMD where it validates: its last bits differ from the plain one,
// so this forward is compared loosely) ...
result.defaultKernels = await useWasmKernels();
{
  const { x, layer } = problem();
  result.defaultForward = numbers(layer.forward(x, x, x, { causal: true }).output); // [2, 16, 32]
}
// ... then the plain SIMD-128 build, the same bytes on every engine: compared tightly.
result.plainKernels = await useWasmKernels({ relaxedSimd: false });
{
  const { x, target, layer } = problem();
  const optimizer = new Adam(layer.parameters(), { lr: 1e-2 });
  const { output } = layer.forward(x, x, x, { causal: true }); // [2, 16, 32]
  const loss = mseLoss(output, target);
  optimizer.zeroGrad();
  loss.backward();
  const grads = layer.parameters().map((p) => numbers(p.grad));
  optimizer.step();
  const after = mseLoss(layer.forward(x, x, x, { causal: true }).output, target);
  result.train = {
    forward: numbers(output),
    loss: loss.item(),
    grads: grads.flat(),
    parametersAfterStep: layer.parameters().flatMap((p) => numbers(p)),
    lossAfterStep: after.item(),
  };
}

console.log(`SMOKE_RESULT ${JSON.stringify(result)}`);
