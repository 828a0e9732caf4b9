import { add, concat, crossEntropy, Embedding, Linear, Module, mul, noGrad, reshape, Rng, slice, tanh, Tensor, zeros } from '@heed/tensor';
import { createScorer, type Scorer } from '@heed/scorers';
import { SoftAttention } from '@heed/soft-attention';
import { INPUT_LENGTH, INPUT_VOCAB, OUTPUT_LENGTH, OUTPUT_VOCAB, PAD, START } from './data';

// Shape letters: B batch, L input length (INPUT_LENGTH), T output length (OUTPUT_LENGTH),
// d model size, V output vocabulary.

export interface DateModelConfig {
  /** Registry name of the attention scorer ('additive', 'scaled-dot', ...). */
  scorer: string;
  /** d, the size of embeddings and encoder states. */
  dim: number;
  /** Seed of the initial weights. */
  seed: number;
}

export interface DateModelOutput {
  /** [B, T, V] */
  logits: Tensor;
  /** [B, T, L]: attention of each output step over the input characters. */
  weights: Tensor;
}

/** Greedy decoding of a batch: predicted ids and the attention rows that produced them. */
export interface Decoded {
  /** B rows of T output ids. */
  ids: number[][];
  /** [B, T, L] */
  weights: Tensor;
}

/** Options of scorers that need them: sizes, and a temperature for cosine so its scores are not stuck in [-1, 1]. */
function buildScorer(kind: string, dim: number, rng: Rng): Scorer {
  return createScorer({ kind, queryDim: dim, keyDim: dim, hiddenDim: dim, temperature: kind === 'cosine' ? 0.1 : undefined, rng });
}

/**
 * An encoder-decoder with attention, character level.
 * Encoder: character + position embeddings, then two convolutions over neighbouring characters
 * (windows of 5 and 3) so each state knows its context ("the last digit before a month name").
 * Decoder: the query of output step t is a learned embedding of t plus the embedding of the previous
 * output character; it attends with the chosen scorer, keys = the encoder states, values = the input
 * characters' own embeddings (so what an output digit reads is the characters it looks at, and the
 * alignment is sharp), and predicts character t from the context and the query.
 */
export class DateModel extends Module {
  readonly config: DateModelConfig;
  readonly charEmbedding: Embedding;
  readonly inputPosition: Embedding;
  readonly conv1: Linear;
  readonly conv2: Linear;
  readonly outputEmbedding: Embedding;
  readonly outputPosition: Embedding;
  readonly attention: SoftAttention;
  readonly hidden: Linear;
  readonly out: Linear;

  constructor(config: DateModelConfig) {
    super();
    this.config = { scorer: config.scorer, dim: config.dim, seed: config.seed };
    const d = config.dim;
    const rng = new Rng(config.seed);
    this.charEmbedding = new Embedding(INPUT_VOCAB.length, d, { rng });
    this.inputPosition = new Embedding(INPUT_LENGTH, d, { rng });
    this.conv1 = new Linear(5 * d, d, { rng });
    this.conv2 = new Linear(3 * d, d, { rng });
    this.outputEmbedding = new Embedding(OUTPUT_VOCAB.length + 1, d, { rng });
    this.outputPosition = new Embedding(OUTPUT_LENGTH, d, { rng });
    this.attention = new SoftAttention({ scorer: buildScorer(config.scorer, d, rng), normalizer: { kind: 'softmax' } });
    this.hidden = new Linear(2 * d, d, { rng });
    this.out = new Linear(d, OUTPUT_VOCAB.length, { rng });
    // embeddings start at N(0, 0.3²) rather than N(0, 1), so the tanh layers start out of saturation
    for (const e of [this.charEmbedding, this.inputPosition, this.outputEmbedding, this.outputPosition]) {
      for (let i = 0; i < e.weight.size; i++) e.weight.data[i] = e.weight.data[i]! * 0.3;
    }
  }

  /** input ids B rows of L -> encoder states [B, L, d] and the key-padding mask [B, L] (1 = real character). */
  encode(inputs: readonly (readonly number[])[]): { states: Tensor; chars: Tensor; keep: Tensor } {
    const B = inputs.length;
    const L = INPUT_LENGTH;
    const ids = new Tensor(Float32Array.from(inputs.flat()), [B, L]);
    const positions = new Tensor(
      Float32Array.from({ length: L }, (_, i) => i),
      [L],
    );
    const x = add(this.charEmbedding.forward(ids), this.inputPosition.forward(positions)); // [B, L, d] + [L, d] -> [B, L, d]
    const h1 = tanh(this.conv1.forward(window(x, 2))); // [B, L, 5d] -> [B, L, d]
    const h2 = add(h1, tanh(this.conv2.forward(window(h1, 1)))); // [B, L, 3d] -> [B, L, d]
    const keep = new Tensor(
      Float32Array.from(inputs.flat(), (id) => (id === PAD ? 0 : 1)),
      [B, L],
    );
    return { states: h2, chars: x, keep };
  }

  /** Output step queries from the previous characters: previous B rows of t ids, at steps [from, from + t) -> [B, t, d] */
  queries(previous: readonly (readonly number[])[], from = 0): Tensor {
    const B = previous.length;
    const t = previous[0]!.length;
    const ids = new Tensor(Float32Array.from(previous.flat()), [B, t]);
    const steps = new Tensor(
      Float32Array.from({ length: t }, (_, i) => from + i),
      [t],
    );
    return add(this.outputEmbedding.forward(ids), this.outputPosition.forward(steps)); // [B, t, d] + [t, d] -> [B, t, d]
  }

  /** One attention read and the prediction for each query: [B, t, d] over states [B, L, d] -> logits [B, t, V], weights [B, t, L] */
  readOut(query: Tensor, states: Tensor, chars: Tensor, keep: Tensor): DateModelOutput {
    const { context, weights } = this.attention.forward(query, states, chars, { keyPaddingMask: keep }); // [B, t, d], [B, t, L]
    if (!weights) throw new Error('SoftAttention returned no weights');
    const h = tanh(this.hidden.forward(concat([context, query], -1))); // [B, t, 2d] -> [B, t, d]
    return { logits: this.out.forward(h), weights }; // [B, t, V]
  }

  /** Teacher forcing: inputs B rows of L ids, targets B rows of T ids -> logits [B, T, V], weights [B, T, L]. */
  forward(inputs: readonly (readonly number[])[], targets: readonly (readonly number[])[]): DateModelOutput {
    const { states, chars, keep } = this.encode(inputs);
    const previous = targets.map((row) => [START, ...row.slice(0, OUTPUT_LENGTH - 1)]);
    return this.readOut(this.queries(previous), states, chars, keep);
  }

  /** Mean cross-entropy of the targets under teacher forcing (a scalar), with the weights. */
  loss(inputs: readonly (readonly number[])[], targets: readonly (readonly number[])[]): { loss: Tensor; weights: Tensor } {
    const { logits, weights } = this.forward(inputs, targets);
    const V = OUTPUT_VOCAB.length;
    return { loss: crossEntropy(reshape(logits, [-1, V]), targets.flat()), weights }; // [B·T, V] x [B·T] -> []
  }

  /** Greedy decoding, one output step at a time, each fed the previous prediction. */
  decode(inputs: readonly (readonly number[])[]): Decoded {
    return noGrad(() => {
      const { states, chars, keep } = this.encode(inputs);
      const ids: number[][] = inputs.map(() => []);
      const rows: Tensor[] = [];
      let previous = inputs.map(() => START);
      for (let t = 0; t < OUTPUT_LENGTH; t++) {
        const query = this.queries(
          previous.map((p) => [p]),
          t,
        ); // [B, 1, d]
        const { logits, weights } = this.readOut(query, states, chars, keep); // [B, 1, V], [B, 1, L]
        previous = argmaxRows(logits.data, logits.shape[2]!);
        previous.forEach((id, b) => ids[b]!.push(id));
        rows.push(weights);
      }
      return { ids, weights: concat(rows, 1) }; // T x [B, 1, L] -> [B, T, L]
    });
  }
}

/** Each position next to its neighbours: [B, L, d] -> [B, L, (2r + 1)·d], zeros beyond the ends. */
function window(x: Tensor, radius: number): Tensor {
  const [B, L, d] = x.shape as [number, number, number];
  // on a device the zeros are made there (x·0 of a slice; its gradient is zero), the CPU keeps its plain zeros
  const padding = x.device === 'cpu' ? zeros([B, radius, d]) : mul(slice(x, 1, 0, radius), 0); // [B, r, d]
  const padded = concat([padding, x, padding], 1); // [B, L + 2r, d]
  const shifted: Tensor[] = [];
  for (let k = 0; k <= 2 * radius; k++) shifted.push(slice(padded, 1, k, k + L)); // [B, L, d]
  return concat(shifted, -1); // [B, L, (2r + 1)·d]
}

function argmaxRows(data: Float32Array, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * width < data.length; r++) {
    let best = 0;
    for (let j = 1; j < width; j++) if (data[r * width + j]! > data[r * width + best]!) best = j;
    out.push(best);
  }
  return out;
}
