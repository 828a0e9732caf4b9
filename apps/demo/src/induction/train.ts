import { Adam, clipGradNorm, crossEntropy, noGrad, reshape, Rng, slice, Tensor } from '@heed/tensor';
import { LETTERS, MAX_RUN, MIN_RUN, repeatedSequence } from './data';
import { headRole, headScores, meanScores, type HeadRole, type HeadScores } from './head-scores';
import { encodeStateDict, type InductionModelFile } from './model-file';
import { INDUCTION_CONFIG, InductionModel } from './model';

// Shape letters: B batch, L = 1 + 2n positions, n the run length, V vocabulary size.

export interface InductionTrainerConfig {
  seed: number;
  dataSeed: number;
  batchSize: number;
  lr: number;
  clipNorm: number;
}

const DEFAULTS: InductionTrainerConfig = { seed: 1, dataSeed: 2, batchSize: 32, lr: 0.01, clipNorm: 1 };

/** A batch of B repeated sequences with one run length n: ids [B, 1 + 2n]. */
export function batchOf(rng: Rng, B: number, n: number): Tensor {
  const ids = new Float32Array(B * (1 + 2 * n));
  for (let b = 0; b < B; b++) ids.set(repeatedSequence(rng, n), b * (1 + 2 * n));
  return new Tensor(ids, [B, 1 + 2 * n]); // [B, L]
}

/**
 * Cross-entropy of the predictable next tokens: from the second run's first letter (position n + 1) to its
 * second-to-last (2n − 1), each predicting the letter after it. logits [B, L, V] -> a scalar.
 */
export function inductionLoss(logits: Tensor, ids: Tensor): Tensor {
  const [B, L, V] = logits.shape as [number, number, number];
  const n = (L - 1) / 2;
  const predicted = reshape(slice(logits, 1, n + 1, 2 * n), [B * (n - 1), V]); // [B, n − 1, V] -> [B·(n − 1), V]
  const targets = new Float32Array(B * (n - 1));
  for (let b = 0; b < B; b++) for (let i = n + 1; i < 2 * n; i++) targets[b * (n - 1) + i - n - 1] = ids.data[b * L + i + 1]!;
  return crossEntropy(predicted, new Tensor(targets, [B * (n - 1)]));
}

export class InductionTrainer {
  readonly config: InductionTrainerConfig;
  readonly model: InductionModel;
  readonly #optimizer: Adam;
  readonly #rng: Rng;
  steps = 0;

  constructor(config: Partial<InductionTrainerConfig> = {}) {
    this.config = { ...DEFAULTS, ...config };
    this.model = new InductionModel({ ...INDUCTION_CONFIG, seed: this.config.seed });
    this.#optimizer = new Adam(this.model.parameters(), { lr: this.config.lr });
    this.#rng = new Rng(this.config.dataSeed);
  }

  /** One Adam step on a fresh batch; returns its loss. */
  step(): number {
    const n = MIN_RUN + this.#rng.int(MAX_RUN - MIN_RUN + 1);
    const ids = batchOf(this.#rng, this.config.batchSize, n); // [B, L]
    this.#optimizer.zeroGrad();
    const loss = inductionLoss(this.model.forward(ids), ids);
    loss.backward();
    clipGradNorm(this.model.parameters(), this.config.clipNorm);
    this.#optimizer.step();
    this.steps++;
    return loss.data[0]!;
  }
}

/** `count` held-out sequences (their letters after the start token), from their own seed. */
export function heldOutSequences(count: number, seed = 1000): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, k) => {
    const n = MIN_RUN + (k % (MAX_RUN - MIN_RUN + 1));
    return repeatedSequence(rng, n)
      .slice(1)
      .map((id) => LETTERS[id - 1])
      .join('');
  });
}

/** The page's measurement: every head's scores, averaged over the sequences, and its role. [layer][head]. */
export function measureHeads(model: InductionModel, sequences: readonly number[][]): { scores: HeadScores[][]; roles: HeadRole[][] } {
  const { numLayers, numHeads } = model.config;
  const perSequence = sequences.map((ids) => {
    const L = ids.length;
    const { weights } = model.inspect(ids); // numLayers × [1, H, L, L]
    return weights.map((w) =>
      Array.from({ length: numHeads }, (_, head) => headScores(w.data.subarray(head * L * L, (head + 1) * L * L), ids)),
    );
  });
  const scores = Array.from({ length: numLayers }, (_, layer) =>
    Array.from({ length: numHeads }, (_, head) => meanScores(perSequence.map((s) => s[layer]![head]!))),
  );
  return { scores, roles: scores.map((layer) => layer.map(headRole)) };
}

/** Next-token accuracy on the predictable positions of each sequence (ids with the start token). */
export function nextTokenAccuracy(model: InductionModel, sequences: readonly number[][]): number {
  let correct = 0;
  let total = 0;
  noGrad(() => {
    for (const ids of sequences) {
      const L = ids.length;
      const n = (L - 1) / 2;
      const { logits } = model.inspect(ids); // [1, L, V]
      const V = logits.shape[2]!;
      for (let i = n + 1; i < 2 * n; i++) {
        let best = 0;
        for (let v = 1; v < V; v++) if (logits.data[i * V + v]! > logits.data[i * V + best]!) best = v;
        correct += Number(best === ids[i + 1]);
        total++;
      }
    }
  });
  return correct / total;
}

/** Letters -> ids with the start token. */
export function idsOf(letters: string): number[] {
  return [0, ...[...letters].map((c) => LETTERS.indexOf(c) + 1)];
}

export function toModelFile(trainer: InductionTrainer, seconds: number, finalLoss: number, sequences: string[]): InductionModelFile {
  const ids = sequences.map(idsOf);
  const { scores, roles } = measureHeads(trainer.model, ids);
  const { batchSize, lr, dataSeed } = trainer.config;
  return {
    format: 'heed-induction-model/1',
    config: trainer.model.config,
    training: { steps: trainer.steps, batchSize, lr, dataSeed, seconds: Math.round(seconds), finalLoss },
    evaluation: { sequences, accuracy: nextTokenAccuracy(trainer.model, ids), scores, roles },
    weights: encodeStateDict(trainer.model.stateDict()),
  };
}
