import { ConfigError } from '../errors/config-error';
import { defaultRng } from '../default-rng';
import { embedding } from '../ops/gather';
import type { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { normalInit } from './init';
import { Module } from './module';
import { Parameter } from './parameter';

/** A lookup table of learned vectors: integer ids [...] -> [..., embeddingDim]; weight N(0, 1) as in PyTorch. */
export class Embedding extends Module {
  readonly weight: Parameter;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: { rng?: Rng } = {},
  ) {
    super();
    for (const [name, v] of [
      ['numEmbeddings', numEmbeddings],
      ['embeddingDim', embeddingDim],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0)
        throw new ConfigError(`${name} must be a positive integer, got ${v}`, { op: 'Embedding', argument: name });
    }
    this.weight = new Parameter(new Float32Array(numEmbeddings * embeddingDim), [numEmbeddings, embeddingDim]);
    normalInit(this.weight, 0, 1, options.rng ?? defaultRng());
  }

  /** ids [...] -> [..., embeddingDim] */
  forward(ids: Tensor | ArrayLike<number>): Tensor {
    return embedding(this.weight, ids);
  }
}
