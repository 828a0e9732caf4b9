// The softmax kernel seam: softmax along one axis of a tensor viewed as [outer, n, inner].

/**
 * out = softmax(x) along the middle axis of x viewed as [outer, n, inner] (out overwritten, same size).
 * A row whose entries are all −∞ (fully masked) becomes all zeros, never NaN; a row with +∞ entries (scores
 * that overflowed float32) is uniform over them and 0 elsewhere. With `log`, writes log-softmax instead (a fully
 * masked row stays −∞).
 */
export type SoftmaxKernel = (x: Float32Array, outer: number, n: number, inner: number, out: Float32Array, log: boolean) => void;
