import { DateTrainer } from '../dates/train';
import { InductionTrainer } from '../induction/train';

// Time per step on the active kernels: training steps of panel 3's transformer (2 layers × 4 heads, width 32,
// a batch of 32 sequences), the same work on every CPU backend. On a device backend (WebGPU), steps of panel
// 2's date model (a batch of 32) on that device, the work its training worker does. One warm-up step, then
// the median of `steps`.

/** What a step timed on `device` (absent: the CPU) is, in words. */
export function timedStep(device?: string): string {
  return device === undefined ? "panel 3's transformer" : "panel 2's date model";
}

export async function timeTrainingStep(steps = 5, device?: string): Promise<number> {
  let step: () => Promise<unknown>;
  if (device === undefined) {
    const trainer = new InductionTrainer({ seed: 11, dataSeed: 12 });
    step = async () => trainer.step();
  } else {
    const trainer = new DateTrainer();
    await trainer.toDevice(device);
    step = () => trainer.stepAsync();
  }
  await step(); // warm-up: first calls compile and allocate
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const start = performance.now();
    await step();
    times.push(performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the page paint between steps
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
