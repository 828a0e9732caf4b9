// Test-only (exported from @heed/tensor/testing): every conformance case, in the order suites run them — fused
// attention, matmul, softmax / reductions / elementwise, then through the ops. The CPU kernel-set suite
// (kernels/conformance.test.ts) and every device suite iterate this one list, each with its own stated tolerances.
import { attentionConformanceCases } from './conformance-attention-cases';
import { kernelConformanceCases } from './conformance-kernel-cases';
import { opsConformanceCases } from './conformance-ops-cases';
import type { ConformanceCase } from './conformance-target';

export const conformanceCases: readonly ConformanceCase[] = [
  ...attentionConformanceCases,
  ...kernelConformanceCases,
  ...opsConformanceCases,
];
