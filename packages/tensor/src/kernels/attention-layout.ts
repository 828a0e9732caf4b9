import type { AttentionProblem } from './attention';

// The storage layouts of the attention seam (see `AttentionProblem.layout`).
// Shape letters: B batch, H heads of an operand, L its rows, w its row width (d or dv).

/** Slices interleaved per row block in the query-side (q, out) and key-side (k, v) operands: 1 and 1 for 'heads-first'. */
export interface InterleavedHeads {
  queryHeads: number;
  keyHeads: number;
}

/** How many slices share a row block on each side: H and H / groupSize for 'sequence-first', else 1 and 1. */
export function interleavedHeads(problem: AttentionProblem): InterleavedHeads {
  if (problem.layout !== 'sequence-first') return { queryHeads: 1, keyHeads: 1 };
  const H = problem.heads ?? 1;
  return { queryHeads: H, keyHeads: H / problem.groupSize };
}

/** [B, L, H, w] -> [B, H, L, w] (a new array). */
export function toHeadsFirst(x: Float32Array, B: number, H: number, L: number, w: number): Float32Array {
  const out = new Float32Array(B * H * L * w);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      for (let h = 0; h < H; h++) {
        const from = ((b * L + i) * H + h) * w;
        out.set(x.subarray(from, from + w), ((b * H + h) * L + i) * w);
      }
    }
  }
  return out;
}

/** [B, H, L, w] -> [B, L, H, w], written into `target`. */
export function toSequenceFirst(x: Float32Array, B: number, H: number, L: number, w: number, target: Float32Array): void {
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const from = ((b * H + h) * L + i) * w;
        target.set(x.subarray(from, from + w), ((b * L + i) * H + h) * w);
      }
    }
  }
}
