// Train in heed, serve with ONNX Runtime: a multi-head attention layer learns a toy task in heed
// (200 Adam steps), is exported with @heed/onnx, and onnxruntime-node gives the same answers.
// Run it with `node examples/onnx-roundtrip.mjs` after `pnpm build` (onnxruntime-node is a dev dependency
// of @heed/onnx; install it yourself in your own project).
//
// The task: every position of a sequence of class tokens must answer the class of the FIRST token.
// Token t is [one-hot class (4), 1 if t is the first position, noise (3)]; the answer is read from the
// output's first 4 features. Attention solves it by looking at the position that says "first".
import { createRequire } from 'node:module';
import { MultiHeadAttention } from '@heed/multi-head';
import { exportToOnnx } from '@heed/onnx';
import { Adam, mseLoss, noGrad, Rng, Tensor } from '@heed/tensor';

const require = createRequire(new URL('../packages/onnx/package.json', import.meta.url));
const ort = require('onnxruntime-node'); // resolved from @heed/onnx's dev dependencies

const CLASSES = 4;
const E = 8; // embedDim
const rng = new Rng(7);

/** A batch of B sequences of length L: x [B, L, E], target [B, L, E] (the first token's class one-hot). */
function batch(B, L) {
  const x = new Float32Array(B * L * E);
  const target = new Float32Array(B * L * E);
  const firstClasses = [];
  for (let b = 0; b < B; b++) {
    let first = 0;
    for (let t = 0; t < L; t++) {
      const cls = Math.floor(rng.uniform() * CLASSES);
      if (t === 0) first = cls;
      const row = (b * L + t) * E;
      x[row + cls] = 1;
      x[row + CLASSES] = t === 0 ? 1 : 0;
      for (let i = CLASSES + 1; i < E; i++) x[row + i] = 0.3 * rng.normal();
    }
    for (let t = 0; t < L; t++) target[(b * L + t) * E + first] = 1;
    firstClasses.push(first);
  }
  return { x: new Tensor(x, [B, L, E]), target: new Tensor(target, [B, L, E]), firstClasses };
}

const answers = (output, B, L) =>
  Array.from({ length: B }, (_, b) =>
    Array.from({ length: L }, (_, t) => {
      const row = output.slice((b * L + t) * E, (b * L + t) * E + CLASSES);
      return row.indexOf(Math.max(...row));
    }).join(''),
  );

// 1. Train in heed.
const layer = new MultiHeadAttention({ embedDim: E, numHeads: 2, rng });
const optimizer = new Adam(layer.parameters(), { lr: 0.03 });
for (let step = 1; step <= 200; step++) {
  const { x, target } = batch(16, 6);
  const loss = mseLoss(layer.forward(x, x, x, { causal: true, needWeights: false }).output, target);
  layer.zeroGrad();
  loss.backward();
  optimizer.step();
  if (step === 1 || step % 50 === 0) console.log(`step ${step}  loss ${loss.item().toExponential(2)}`);
}
layer.eval();

// 2. Export: weights under heed's names, causal in the graph, batch and sequence length dynamic.
const { bytes, inputs, attentionOp } = exportToOnnx(layer, { causal: true });
console.log(
  `exported ${bytes.length} bytes, attention as ${attentionOp}, inputs ${inputs.map((i) => `${i.name} [${i.shape.join(', ')}]`).join(', ')}`,
);

// 3. Serve with ONNX Runtime, and compare with heed on sequences longer than any seen in training.
const session = await ort.InferenceSession.create(bytes);
const B = 3;
const L = 9;
const { x, firstClasses } = batch(B, L);
const heed = noGrad(() => layer.forward(x, x, x, { causal: true, needWeights: false }).output.data);
const feed = new ort.Tensor('float32', Float32Array.from(x.data), [B, L, E]);
const onnx = (await session.run({ query: feed, key: feed, value: feed })).output.data;
let maxDiff = 0;
for (let i = 0; i < heed.length; i++) maxDiff = Math.max(maxDiff, Math.abs(heed[i] - onnx[i]));
console.log(`first classes:        ${firstClasses.join(' ')}`);
console.log(`heed answers:         ${answers(heed, B, L).join(' ')}`);
console.log(`ONNX Runtime answers: ${answers(onnx, B, L).join(' ')}`);
console.log(`max |heed − onnxruntime| = ${maxDiff.toExponential(2)}`);
await session.release();
