import { add, Embedding, Linear, Module, noGrad, Rng, Tensor } from '@heed/tensor';
import { MultiHeadAttention } from '@heed/multi-head';
import { RotaryScorer } from '@heed/soft-attention';
import { VOCAB_SIZE } from './data';

// Shape letters: B batch, L positions, E embedDim, H heads, V vocabulary size.

export interface InductionModelConfig {
  /** Attention layers (each a residual multi-head block). */
  numLayers: number;
  /** H per layer. */
  numHeads: number;
  /** E, the width of the residual stream. */
  embedDim: number;
  /** Seed of the initial weights (the untrained model is this seed's initial weights). */
  seed: number;
}

export const INDUCTION_CONFIG: Omit<InductionModelConfig, 'seed'> = { numLayers: 2, numHeads: 4, embedDim: 32 };

/**
 * A decoder-only, attention-only transformer (Elhage et al. 2021's toy models): token embedding, then per
 * layer x ← x + MultiHeadAttention(x, x, x) with causal masking and RoPE in every head (positions enter only
 * there), then a linear read-out to next-token logits. No MLPs and no norms, so every head is easy to read.
 */
export class InductionModel extends Module {
  readonly config: InductionModelConfig;
  readonly tokenEmbedding: Embedding;
  readonly layers: MultiHeadAttention[];
  readonly readout: Linear;

  constructor(config: InductionModelConfig) {
    super();
    this.config = config;
    const rng = new Rng(config.seed);
    const { embedDim: E, numHeads: H } = config;
    this.tokenEmbedding = new Embedding(VOCAB_SIZE, E, { rng });
    this.layers = Array.from(
      { length: config.numLayers },
      () =>
        new MultiHeadAttention({
          embedDim: E,
          numHeads: H,
          scorer: new RotaryScorer({ inner: { kind: 'scaled-dot' }, headDim: E / H }), // RoPE, then q·k/√d
          rng,
        }),
    );
    this.readout = new Linear(E, VOCAB_SIZE, { rng });
  }

  /** ids [B, L] -> logits [B, L, V] */
  forward(ids: Tensor): Tensor {
    let x = this.tokenEmbedding.forward(ids); // [B, L] -> [B, L, E]
    for (const layer of this.layers) x = add(x, layer.forward(x, x, x, { causal: true, needWeights: false }).output); // [B, L, E]
    return this.readout.forward(x); // [B, L, E] -> [B, L, V]
  }

  /** One sequence (L ids) -> every layer's per-head weights, [1, H, L, L] each, and the logits [1, L, V]. */
  inspect(ids: readonly number[]): { weights: Tensor[]; logits: Tensor } {
    return noGrad(() => {
      let x = this.tokenEmbedding.forward(new Tensor(Float32Array.from(ids), [1, ids.length])); // [1, L, E]
      const weights: Tensor[] = [];
      for (const layer of this.layers) {
        const { output, weights: w } = layer.forward(x, x, x, { causal: true, needWeights: true, averageHeadWeights: false }); // [1, L, E], [1, H, L, L]
        weights.push(w);
        x = add(x, output); // [1, L, E]
      }
      return { weights, logits: this.readout.forward(x) }; // [1, L, V]
    });
  }
}
