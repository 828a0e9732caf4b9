import type { AttentionBackwardKernel, AttentionForwardKernel } from './attention';
import { attentionBackwardJs, attentionForwardJs } from './attention-js';
import { matmulKernelJs, type MatmulKernel } from './matmul';

/** The kernels ops reach through. A faster implementation replaces an entry without touching ops. */
export interface Kernels {
  matmul: MatmulKernel;
  /** Fused scaled-dot-product attention, forward (see `AttentionProblem`). */
  attentionForward: AttentionForwardKernel;
  /** Fused scaled-dot-product attention, backward (recomputes the weights tile by tile). */
  attentionBackward: AttentionBackwardKernel;
}

const active: Kernels = { matmul: matmulKernelJs, attentionForward: attentionForwardJs, attentionBackward: attentionBackwardJs };
const plain: Readonly<Kernels> = Object.freeze({ ...active });

/** The kernels in use now. */
export function getKernels(): Readonly<Kernels> {
  return active;
}

/** Replaces some kernels (e.g. WebAssembly ones); returns a function that restores the previous ones. */
export function setKernels(kernels: Partial<Kernels>): () => void {
  const previous = { ...active };
  Object.assign(active, kernels);
  return () => {
    Object.assign(active, previous);
  };
}

/** The plain TypeScript kernels (the reference every faster kernel is tested against). */
export function plainKernels(): Readonly<Kernels> {
  return plain;
}
