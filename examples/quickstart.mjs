// heed in a few lines: attention is score → normalize → weighted sum, each step a part you pick.
// Run it with `node examples/quickstart.mjs` after `pnpm build`.
import { MultiHeadAttention } from '@heed/multi-head';
import { attend } from '@heed/soft-attention';
import { randn, Rng, sum } from '@heed/tensor';

const rng = new Rng(3);
const query = randn([1, 3, 4], rng); // [B=1, Lq=3, d=4]
const keys = randn([1, 4, 4], rng); // [B=1, Lk=4, d=4]
const values = randn([1, 4, 2], rng); // [B=1, Lk=4, dv=2]

// The three steps with a dot scorer and sparsemax weights: exact zeros where attention is not needed.
const { weights, context } = attend({ query, keys, values, scorer: { kind: 'dot' }, normalizer: { kind: 'sparsemax' } });
console.log(weights.toString(), context.shape);

// A multi-head layer with a trainable additive (Bahdanau) scorer in each head.
const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2, scorer: { kind: 'additive' }, rng });
const { output } = layer.forward(query, keys, keys, { causal: true }); // [1, 3, 4]
sum(output).backward(); // gradients reach every parameter, the scorers' included
console.log(output.shape, layer.parameters().length, layer.scorers[0].W1.weight.grad?.shape);
