// Train in heed, serve with ONNX Runtime: the demo's date model ("25 November 2026" -> "2026-11-25", a
// character-level encoder-decoder with attention, apps/demo/src/dates) trains in heed, is exported as one
// ONNX model — embeddings, convolutional encoder, heed's SoftAttention (written by @heed/onnx's
// addAttention), read-out — and onnxruntime-node decodes the same dates, one output character per run.
// Run it with `node examples/onnx-dates.mjs [steps]` after `pnpm build` (the demo's TypeScript loads
// through Vite, as the demo's own training script does).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { addAttention, encodeModel, GraphBuilder } from '@heed/onnx';
import { runnerImport } from 'vite';

const require = createRequire(new URL('../packages/onnx/package.json', import.meta.url));
const ort = require('onnxruntime-node'); // resolved from @heed/onnx's dev dependencies; install it in your own project
const demo = fileURLToPath(new URL('../apps/demo', import.meta.url));
const load = async (path) => (await runnerImport(path, { root: demo, logLevel: 'error', configFile: false })).module;
const dates = await load('./src/dates/data.ts');
const { DateTrainer, heldOutExamples, predict } = await load('./src/dates/train.ts');

// 1. Train in heed (the demo trains 600 steps; its test shows 150 are enough for scaled-dot).
const steps = Number(process.argv[2] ?? 150);
const trainer = new DateTrainer({ scorer: 'scaled-dot', seed: 1, dataSeed: 2 });
for (let step = 1; step <= steps; step++) {
  const loss = trainer.step();
  if (step % 50 === 0) console.log(`step ${step}  loss ${loss.toFixed(4)}`);
}
const model = trainer.model;
model.eval();

// 2. Export: the graph of DateModel.forward (teacher forcing), input ids [B, 20] and the previous output
// ids [B, T] (T dynamic) -> logits [B, T, V], weights as initializers under heed's parameter names.
const L = dates.INPUT_LENGTH;
const d = model.config.dim;
const graph = new GraphBuilder('date-model');
const weights = new Map(model.namedParameters());
const weight = (name) => graph.initializer(name, 'float', weights.get(name).shape, Float32Array.from(weights.get(name).data));
const linear = (x, name) =>
  graph.op('Add', [graph.op('MatMul', [x, graph.op('Transpose', [weight(`${name}.weight`)], { perm: [1, 0] })]), weight(`${name}.bias`)]); // x · Wᵀ + b
const tanh = (x) => graph.op('Tanh', [x]);
/** Each position next to its neighbours: [B, L, d] -> [B, L, (2r + 1)·d], zeros beyond the ends (DateModel's window). */
const window = (x, r) => {
  const padded = graph.op('Pad', [x, graph.int64s([0, r, 0, 0, r, 0])]); // [B, L + 2r, d]
  const shifted = Array.from({ length: 2 * r + 1 }, (_, k) =>
    graph.op('Slice', [padded, graph.int64s([k]), graph.int64s([k + L]), graph.int64s([1])]),
  ); // [B, L, d]
  return graph.op('Concat', shifted, { axis: -1 });
};
const inputIds = graph.input('input_ids', 'int64', ['batch', L]);
const previousIds = graph.input('previous_ids', 'int64', ['batch', 'steps']);
const chars = graph.op('Add', [graph.op('Gather', [weight('charEmbedding.weight'), inputIds]), weight('inputPosition.weight')]); // [B, L, d]
const h1 = tanh(linear(window(chars, 2), 'conv1')); // [B, L, d]
const states = graph.op('Add', [h1, tanh(linear(window(h1, 1), 'conv2'))]); // [B, L, d]
const keyPaddingMask = graph.op('Not', [graph.op('Equal', [inputIds, graph.int64(dates.PAD)])]); // [B, L]
const T = graph.op('Shape', [previousIds], { start: 1, end: 2 }); // [1]
const stepPositions = graph.op('Slice', [weight('outputPosition.weight'), graph.int64s([0]), T, graph.int64s([0])]); // [T, d]
const query = graph.op('Add', [graph.op('Gather', [weight('outputEmbedding.weight'), previousIds]), stepPositions]); // [B, T, d]
const context = addAttention(
  graph,
  model.attention,
  { query, keys: states, values: chars, keyPaddingMask },
  { dims: { queryDim: d }, parameterPrefix: 'attention.' },
); // [B, T, d]
const hidden = tanh(linear(graph.op('Concat', [context, query], { axis: -1 }), 'hidden')); // [B, T, d]
graph.output(linear(hidden, 'out'), 'logits', 'float', ['batch', 'steps', dates.OUTPUT_VOCAB.length]);
const bytes = encodeModel({ graph: graph.build(), opsetImports: [{ domain: '', version: 23 }], producerName: 'heed' });
console.log(`exported ${(bytes.length / 1024).toFixed(0)} KB: input_ids [batch, ${L}], previous_ids [batch, steps] -> logits`);

// 3. Serve with ONNX Runtime: greedy decoding, each step fed the characters predicted so far.
const session = await ort.InferenceSession.create(bytes);
async function decodeWithOnnx(texts) {
  const B = texts.length;
  const ids = new ort.Tensor('int64', BigInt64Array.from(texts.flatMap(dates.encodeInput), BigInt), [B, L]);
  const outputs = texts.map(() => []);
  for (let t = 0; t < dates.OUTPUT_LENGTH; t++) {
    const previous = outputs.flatMap((row) => [dates.START, ...row].map(BigInt));
    const { logits } = await session.run({
      input_ids: ids,
      previous_ids: new ort.Tensor('int64', BigInt64Array.from(previous), [B, t + 1]),
    });
    const V = logits.dims[2];
    outputs.forEach((row, b) => {
      const scores = logits.data.subarray((b * (t + 1) + t) * V, (b * (t + 1) + t + 1) * V); // step t of batch row b
      row.push(scores.indexOf(Math.max(...scores)));
    });
  }
  return outputs.map(dates.decodeOutput);
}

const examples = heldOutExamples(8); // dates never drawn for training
const texts = examples.map((e) => e.input);
const fromHeed = predict(model, texts).outputs;
const fromOnnx = await decodeWithOnnx(texts);
texts.forEach((text, i) =>
  console.log(`${text.padEnd(20)} heed ${fromHeed[i]}  onnxruntime ${fromOnnx[i]}  (expected ${examples[i].target})`),
);
// The logits of one teacher-forced pass, heed's and ONNX Runtime's.
const targets = examples.map((e) => dates.encodeOutput(e.target));
const previous = targets.flatMap((row) => [dates.START, ...row.slice(0, -1)].map(BigInt));
const { logits } = await session.run({
  input_ids: new ort.Tensor('int64', BigInt64Array.from(texts.flatMap(dates.encodeInput), BigInt), [texts.length, L]),
  previous_ids: new ort.Tensor('int64', BigInt64Array.from(previous), [texts.length, dates.OUTPUT_LENGTH]),
});
const heedLogits = model.forward(texts.map(dates.encodeInput), targets).logits.data;
let maxDiff = 0;
let maxAbs = 0;
heedLogits.forEach((x, i) => {
  maxDiff = Math.max(maxDiff, Math.abs(x - logits.data[i]));
  maxAbs = Math.max(maxAbs, Math.abs(x));
});
console.log(
  `logits [${logits.dims.join(', ')}]: max |heed − onnxruntime| = ${maxDiff.toExponential(1)} (relative ${(maxDiff / maxAbs).toExponential(1)})`,
);
const same = fromOnnx.filter((out, i) => out === fromHeed[i]).length;
const right = fromOnnx.filter((out, i) => out === examples[i].target).length;
console.log(`onnxruntime gives heed's answer for ${same}/${texts.length} dates; ${right}/${texts.length} are right`);
await session.release();
