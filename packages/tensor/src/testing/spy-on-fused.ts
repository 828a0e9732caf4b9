import type { AttentionProblem } from '../kernels/attention';
import { plainKernels, setKernels } from '../kernels/registry';

/**
 * Records the problems the fused attention forward kernel is called with (empty: the plain path ran), then
 * runs the plain TypeScript kernel on each. Call `restore()` (in a `finally`) to put the previous kernel back.
 */
export function spyOnFused(): { problems: AttentionProblem[]; restore: () => void } {
  const problems: AttentionProblem[] = [];
  const restore = setKernels({
    attentionForward: (problem, ...rest) => {
      problems.push(problem);
      plainKernels().attentionForward(problem, ...rest);
    },
  });
  return { problems, restore };
}
