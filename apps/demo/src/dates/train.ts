import { Adam, clipGradNorm, clipGradNormAsync, Rng, type Tensor } from '@heed/tensor';
import { encodeInput, encodeOutput, decodeOutput, makeExamples, OUTPUT_LENGTH, randomExample, type DateExample } from './data';
import { DateModel, type DateModelConfig } from './model';

export interface TrainConfig extends DateModelConfig {
  /** Examples per step. */
  batchSize: number;
  /** Adam's learning rate. */
  lr: number;
  /** Gradients are clipped to this joint L2 norm. */
  clipNorm: number;
  /** Seed of the training batches (the weights use `seed`). */
  dataSeed: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  scorer: 'additive',
  dim: 32,
  seed: 1,
  batchSize: 32,
  lr: 0.01,
  clipNorm: 1,
  dataSeed: 2,
};

/** The held-out set every report uses: dates never drawn for training (see `isHeldOut`). */
export const HELD_OUT_SEED = 12345;
export function heldOutExamples(count = 300): DateExample[] {
  return makeExamples(count, HELD_OUT_SEED, true);
}

export interface Evaluation {
  /** Fraction of examples whose whole output is right. */
  exact: number;
  /** Fraction of output characters that are right. */
  characters: number;
}

/** Trains a DateModel on freshly generated batches, one `step()` at a time. */
export class DateTrainer {
  readonly config: TrainConfig;
  readonly model: DateModel;
  private readonly optimizer: Adam;
  private readonly rng: Rng;
  steps = 0;

  constructor(config: Partial<TrainConfig> = {}) {
    this.config = { ...DEFAULT_TRAIN_CONFIG, ...config };
    this.model = new DateModel(this.config);
    this.optimizer = new Adam(this.model.parameters(), { lr: this.config.lr });
    this.rng = new Rng(this.config.dataSeed);
  }

  /** One optimizer step on a new batch; returns its loss (the model on the CPU). */
  step(): number {
    const loss = this.forwardBackward();
    clipGradNorm(this.model.parameters(), this.config.clipNorm);
    this.optimizer.step();
    this.steps++;
    return loss.item();
  }

  /**
   * `step()` with the model on any device (see `toDevice`): the same batch, clipping and update, computed
   * there; resolves to the loss once the device has it (the step's only wait).
   */
  async stepAsync(): Promise<number> {
    const loss = this.forwardBackward();
    await clipGradNormAsync(this.model.parameters(), this.config.clipNorm);
    this.optimizer.step();
    this.steps++;
    return (await loss.read())[0]!;
  }

  /** Moves the weights to `device` ('webgpu'), before the first step: the optimizer's moments follow them. */
  async toDevice(device: string): Promise<void> {
    await this.model.toDevice(device);
    await this.optimizer.toDevice(device);
  }

  /** The weights as host arrays, wherever they live: name -> { shape, data } (copies). */
  async readState(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    const state: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, p] of this.model.namedParameters()) state[name] = { shape: [...p.shape], data: await p.read() };
    return state;
  }

  /** A new batch, the gradients of its loss: the loss, a scalar on the model's device. */
  private forwardBackward(): Tensor {
    const batch = Array.from({ length: this.config.batchSize }, () => randomExample(this.rng));
    const inputs = batch.map((e) => encodeInput(e.input));
    const targets = batch.map((e) => encodeOutput(e.target));
    this.model.zeroGrad();
    const { loss } = this.model.loss(inputs, targets);
    loss.backward();
    return loss;
  }
}

/** Greedy outputs of `model` for `texts`, with the attention rows [B, T, L]. */
export function predict(model: DateModel, texts: readonly string[]): { outputs: string[]; weights: Tensor } {
  const { ids, weights } = model.decode(texts.map(encodeInput));
  return { outputs: ids.map(decodeOutput), weights };
}

/** Exact-match and per-character accuracy of greedy decoding on `examples`. */
export function evaluate(model: DateModel, examples: readonly DateExample[]): Evaluation {
  const { outputs } = predict(
    model,
    examples.map((e) => e.input),
  );
  let exact = 0;
  let characters = 0;
  outputs.forEach((out, i) => {
    const target = examples[i]!.target;
    if (out === target) exact++;
    for (let t = 0; t < OUTPUT_LENGTH; t++) if (out[t] === target[t]) characters++;
  });
  return { exact: exact / examples.length, characters: characters / (examples.length * OUTPUT_LENGTH) };
}

export interface Alignment {
  /** Output characters with carriers whose attention argmax is on a carrier, over those counted. */
  argmaxOnCarrier: number;
  /** Mean attention mass on the carriers, over the same rows. */
  massOnCarrier: number;
  /** How many (example, output character) rows were counted. */
  rows: number;
}

/**
 * How well the attention (during greedy decoding) lines up with the input characters that carry each
 * output digit (`DateExample.carriers`). Rows without carriers ('-', implied digits) are skipped.
 */
export function alignment(model: DateModel, examples: readonly DateExample[]): Alignment {
  const { weights } = predict(
    model,
    examples.map((e) => e.input),
  );
  const [, T, L] = weights.shape as [number, number, number];
  let onCarrier = 0;
  let mass = 0;
  let rows = 0;
  examples.forEach((example, b) => {
    for (let t = 0; t < T; t++) {
      const carriers = example.carriers[t]!;
      if (carriers.length === 0) continue;
      const row = weights.data.subarray((b * T + t) * L, (b * T + t + 1) * L);
      let best = 0;
      for (let j = 1; j < L; j++) if (row[j]! > row[best]!) best = j;
      if (carriers.includes(best)) onCarrier++;
      for (const j of carriers) mass += row[j]!;
      rows++;
    }
  });
  return { argmaxOnCarrier: onCarrier / rows, massOnCarrier: mass / rows, rows };
}

/** A state dict as JSON-ready data: name -> { shape, data } with values rounded to `digits` significant digits. */
export interface ModelFile {
  config: DateModelConfig;
  /** How it was trained (batch size, learning rate, clipping, data seed). */
  training?: Omit<TrainConfig, keyof DateModelConfig>;
  steps: number;
  heldOut?: Evaluation;
  state: Record<string, { shape: number[]; data: number[] }>;
}

export function toModelFile(
  model: DateModel,
  steps: number,
  heldOut?: Evaluation,
  training?: ModelFile['training'],
  digits = 4,
): ModelFile {
  const state: ModelFile['state'] = {};
  for (const [name, p] of Object.entries(model.stateDict())) {
    state[name] = { shape: [...p.shape], data: Array.from(p.data, (x) => Number(x.toPrecision(digits))) };
  }
  return { config: model.config, training, steps, heldOut, state };
}

/** A DateModel with the weights of a model file. */
export function fromModelFile(file: ModelFile): DateModel {
  const model = new DateModel(file.config);
  model.loadStateDict(file.state);
  return model;
}
