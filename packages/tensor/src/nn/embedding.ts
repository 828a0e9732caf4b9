import { embedding } from '../ops/gather';
import type { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { allocateWeights, checkConfigObject, checkPositiveInteger, resolveRng } from './check-config';
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
    const op = 'Embedding';
    checkPositiveInteger(op, 'numEmbeddings', numEmbeddings);
    checkPositiveInteger(op, 'embeddingDim', embeddingDim);
    checkConfigObject(op, options, false, '{ rng }', ['rng']);
    const rng = resolveRng(op, options.rng);
    this.weight = new Parameter(allocateWeights(op, 'embeddingDim', numEmbeddings, embeddingDim), [numEmbeddings, embeddingDim]);
    normalInit(this.weight, 0, 1, rng);
  }

  /** ids [...] -> [..., embeddingDim] */
  forward(ids: Tensor | ArrayLike<number>): Tensor {
    return embedding(this.weight, ids);
  }
}
