import type { KernelSet } from '../registry';
import { attentionBackwardJs, attentionForwardJs } from './attention';
import { attentionWeightsBackwardJs, attentionWeightsJs } from './attention-weights';
import { binaryJs, unaryJs } from './elementwise';
import { matmulKernelJs } from './matmul';
import { reduceAxisJs } from './reduce';
import { softmaxJs } from './softmax';

/**
 * The plain TypeScript kernels: complete (every kernel an op calls), float64 accumulation, no set-up.
 * Always registered as 'js'; every other set overrides a subset and falls back to these for the rest.
 */
export const jsKernelSet = Object.freeze({
  name: 'js',
  kernels: Object.freeze({
    matmul: matmulKernelJs,
    attentionForward: attentionForwardJs,
    attentionBackward: attentionBackwardJs,
    attentionWeights: attentionWeightsJs,
    attentionWeightsBackward: attentionWeightsBackwardJs,
    softmax: softmaxJs,
    binary: binaryJs,
    unary: unaryJs,
    reduceAxis: reduceAxisJs,
  }),
}) satisfies KernelSet;
