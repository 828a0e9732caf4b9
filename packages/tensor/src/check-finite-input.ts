import { checkFiniteOnDevice } from './device/check-finite-on-device';
import { ArgumentError } from './errors/argument-error';
import { formatShape } from './errors/heed-error';
import type { Tensor } from './tensor';

/**
 * Refuses NaN and ±∞ in an input (or only NaN and +∞ with `allowNegativeInfinity`, where −∞ means a
 * masked entry) with an ArgumentError naming the call, the argument, its shape and the first offending
 * index: a non-finite input would otherwise come out as NaN without a word. A device tensor is checked on its
 * device, queued with the work: the next read there rejects with the same error (the index, not the value).
 * Layers and attention calls check their own inputs with it, so the error names the call and the shapes the caller gave.
 */
export function checkFiniteInput(op: string, argument: string, x: Tensor, options: { allowNegativeInfinity?: boolean } = {}): void {
  const refusal = (index: number, value: string) =>
    new ArgumentError(
      `${argument} ${formatShape(x.shape)} holds ${value} at flat index ${index}: ${options.allowNegativeInfinity ? 'NaN and +∞ are refused (−∞ masks an entry)' : 'NaN and ±∞ inputs are refused'}`,
      { op, argument, shapes: { [argument]: x.shape } },
    );
  if (x.device !== 'cpu') {
    if (x.size > 0) {
      const allowNegativeInfinity = options.allowNegativeInfinity ?? false;
      checkFiniteOnDevice(op, argument, x, { allowNegativeInfinity, L: 1, inner: x.size, from: 0, error: (i) => refusal(i, 'NaN or ±∞') });
    }
    return;
  }
  const data = x.data;
  let probe = 0;
  for (let i = 0; i < data.length; i++) probe += data[i]! * 0; // NaN exactly when some entry is NaN or ±∞
  if (probe === 0) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // biome-ignore lint/suspicious/noSelfCompare: v !== v is the NaN test
    if (v !== v || v === Infinity || (v === -Infinity && !options.allowNegativeInfinity)) {
      throw refusal(i, String(v));
    }
  }
}
