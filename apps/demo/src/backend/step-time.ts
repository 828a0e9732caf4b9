import { InductionTrainer } from '../induction/train';

// Time per step on the active kernels: training steps of panel 3's transformer (2 layers × 4 heads, width 32,
// a batch of 32 sequences), the same work on every backend. One warm-up step, then the median of `steps`.

export async function timeTrainingStep(steps = 5): Promise<number> {
  const trainer = new InductionTrainer({ seed: 11, dataSeed: 12 });
  trainer.step(); // warm-up: first calls compile and allocate
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const start = performance.now();
    trainer.step();
    times.push(performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the page paint between steps
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
