import {
  ConfigError,
  resolveRng,
  deviceBackend,
  div,
  exp,
  expectTensor,
  formatShape,
  Linear,
  matmul,
  Module,
  mul,
  neg,
  noGrad,
  normalInit,
  checkStateDictEntry,
  Parameter,
  relu,
  reshape,
  type Rng,
  ShapeError,
  sigmoid,
  softmax,
  StateDictError,
  sub,
  sum,
  tanh,
  Tensor,
  checkFiniteInput,
  where,
} from '@heed/tensor';
import { applyKeep } from '../apply-keep';

// Shape letters: B batch, T target (decoder) positions, S source (encoder) positions, d state size,
// dp the position predictor's hidden size.

export interface LuongLocalAttentionOptions {
  /** d, the size of the decoder and encoder states. */
  dim: number;
  /** 'local-m': monotonic, p_t = t. 'local-p': predicted, p_t = S·sigmoid(v_pᵀ tanh(W_p h_t)). */
  mode: 'local-m' | 'local-p';
  /** D, the half-width of the window [p_t − D, p_t + D] (an integer ≥ 1). */
  window: number;
  /** Multiply by the Gaussian exp(−(s − p_t)² / 2σ²), σ = D/2 (default: true for local-p, false for local-m, as in the paper). */
  gaussian?: boolean;
  /** dp, the hidden size of the position predictor (local-p only; default dim). */
  predictorDim?: number;
  /** Generator for the initial weights (default: the shared default generator). */
  rng?: Rng;
}

export interface LuongLocalAttentionResult {
  /** c_t = Σ_s a_t(s) hs_s, [B, T, d] */
  context: Tensor;
  /** a_t(s), [B, T, S]: 0 outside the window; with the Gaussian, rows sum to less than 1. */
  weights: Tensor;
  /** align_t(s), the softmax inside the window before the Gaussian, [B, T, S]. */
  align: Tensor;
  /** p_t, [B, T] (differentiable for local-p). */
  positions: Tensor;
  /** First and last source position of each window (inclusive), [B, T] integers, on the device of h. */
  windowStart: Tensor;
  windowEnd: Tensor;
}

/** PyTorch names of the reference module -> heed names. */
const TORCH_NAMES: Readonly<Record<string, string>> = {
  'W_a.weight': 'scoreProjection.weight',
  'W_p.weight': 'positionProjection.weight',
  v_p: 'positionVector',
};

/**
 * Luong, Pham & Manning 2015, local attention (section 3.2) for encoder–decoder models, with the
 * "general" score h_tᵀ W_a hs_s: each target position t attends only the source positions s in
 * [p_t − D, p_t + D] ∩ [0, S − 1],
 *   align_t(s) = softmax_{s in window}(h_tᵀ W_a hs_s),  a_t(s) = align_t(s) · exp(−(s − p_t)² / 2σ²)
 * with σ = D/2 (the Gaussian optional for local-m, no renormalization). Gradients flow through p_t
 * (local-p) in the Gaussian; the window bounds are piecewise constant. Parameters `scoreProjection`
 * (W_a [d, d]), and for local-p `positionProjection` (W_p [dp, d]) and `positionVector` (v_p [dp]).
 */
export class LuongLocalAttention extends Module {
  readonly dim: number;
  readonly mode: 'local-m' | 'local-p';
  readonly window: number;
  readonly gaussian: boolean;
  readonly scoreProjection: Linear;
  readonly positionProjection: Linear | null;
  readonly positionVector: Parameter | null;

  constructor(options: LuongLocalAttentionOptions) {
    super();
    const op = 'LuongLocalAttention';
    if (typeof options !== 'object' || options === null)
      throw new ConfigError(`takes one options object { dim, mode, window, ... }, got ${String(options)}`, { op, argument: 'options' });
    const { dim, mode, window } = options;
    if (!Number.isInteger(dim) || dim < 1) throw new ConfigError(`dim must be a positive integer, got ${dim}`, { op, argument: 'dim' });
    if (mode !== 'local-m' && mode !== 'local-p')
      throw new ConfigError(`mode must be 'local-m' or 'local-p', got ${JSON.stringify(mode)}`, { op, argument: 'mode' });
    if (!Number.isInteger(window) || window < 1)
      throw new ConfigError(`window (D) must be an integer ≥ 1, got ${window}`, { op, argument: 'window' });
    if (mode === 'local-m' && options.predictorDim !== undefined) {
      throw new ConfigError("predictorDim belongs to the position predictor of mode 'local-p'; local-m has none (p_t = t)", {
        op,
        argument: 'predictorDim',
      });
    }
    const predictorDim = options.predictorDim ?? dim;
    if (!Number.isInteger(predictorDim) || predictorDim < 1)
      throw new ConfigError(`predictorDim must be a positive integer, got ${predictorDim}`, { op, argument: 'predictorDim' });
    const rng = resolveRng('LuongLocalAttention', options.rng);
    this.dim = dim;
    this.mode = mode;
    this.window = window;
    this.gaussian = options.gaussian ?? mode === 'local-p';
    this.scoreProjection = new Linear(dim, dim, { bias: false, rng });
    this.positionProjection = mode === 'local-p' ? new Linear(dim, predictorDim, { bias: false, rng }) : null;
    this.positionVector =
      mode === 'local-p'
        ? (normalInit(new Parameter(new Float32Array(predictorDim), [predictorDim]), 0, 1 / Math.sqrt(predictorDim), rng) as Parameter)
        : null;
  }

  /** decoder states h [B, T, d], encoder states hs [B, S, d] -> context [B, T, d], weights [B, T, S], … */
  forward(h: Tensor, hs: Tensor): LuongLocalAttentionResult {
    const op = 'LuongLocalAttention.forward';
    expectTensor(op, 'h', h);
    expectTensor(op, 'hs', hs);
    if (h.rank !== 3 || hs.rank !== 3 || h.shape[2] !== this.dim || hs.shape[2] !== this.dim || h.shape[0] !== hs.shape[0]) {
      throw new ShapeError(
        `h ${formatShape(h.shape)} and hs ${formatShape(hs.shape)} must be [B, T, d] and [B, S, d] with d = ${this.dim}`,
        { op, argument: 'hs', shapes: { h: h.shape, hs: hs.shape } },
      );
    }
    checkFiniteInput(op, 'h', h); // a NaN state would predict a NaN position: an empty window, NaN weights
    checkFiniteInput(op, 'hs', hs);
    const [B, T] = [h.shape[0]!, h.shape[1]!];
    const S = hs.shape[1]!;
    const D = this.window;
    const scores = matmul(h, this.scoreProjection.forward(hs), { transposeB: true }); // [B, T, d] x [B, d, S] -> [B, T, S]
    const positions = this.predictPositions(h, S); // [B, T, 1]
    // s is in the window [p_t − D, p_t + D] iff neither s + D < p_t nor s − D > p_t: exact tests (s ± D are integers,
    // and the sign of a float32 difference is exact), on the device where h lives. The bounds hold no gradient.
    const upper = constantLike(h, (s) => s + D, [1, 1, S]); // s + D   [1, 1, S]
    const lower = constantLike(h, (s) => s - D, [1, 1, S]); // s − D   [1, 1, S]
    const before = noGrad(() => above(sub(positions, upper))); // 1 where s + D < p_t   [B, T, 1] − [1, 1, S] -> [B, T, S]
    const after = noGrad(() => above(sub(lower, positions))); // 1 where s − D > p_t   [1, 1, S] − [B, T, 1] -> [B, T, S]
    const keep = noGrad(() => sub(sub(1, before), after)); // [B, T, S]
    const align = softmax(applyKeep(scores, keep, op), -1); // [B, T, S], 0 outside the window
    let weights = align;
    if (this.gaussian) {
      const sigma = D / 2;
      const source = constantLike(h, (s) => s, [1, 1, S]); // [1, 1, S]
      const offset = sub(source, positions); // [1, 1, S] − [B, T, 1] -> [B, T, S]
      weights = mul(align, exp(neg(div(mul(offset, offset), 2 * sigma * sigma)))); // [B, T, S]
    }
    const context = matmul(weights, hs); // [B, T, S] x [B, S, d] -> [B, T, d]
    return {
      context,
      weights,
      align,
      positions: reshape(positions, [B, T]),
      windowStart: noGrad(() => sum(before, -1)), // #{s : s < p_t − D} = max(0, ⌈p_t − D⌉)   [B, T, S] -> [B, T]
      windowEnd: noGrad(() => sub(S - 1, sum(after, -1))), // S − 1 − #{s : s > p_t + D} = min(S − 1, ⌊p_t + D⌋)   [B, T, S] -> [B, T]
    };
  }

  /** p_t: t (local-m), or S·sigmoid(v_pᵀ tanh(W_p h_t)) (local-p). -> [B, T, 1] */
  private predictPositions(h: Tensor, S: number): Tensor {
    const [B, T] = [h.shape[0]!, h.shape[1]!];
    if (this.mode === 'local-m') return constantLike(h, (n) => n % T, [B, T, 1]);
    const hidden = tanh(this.positionProjection!.forward(h)); // [B, T, d] -> [B, T, dp]
    const logit = matmul(hidden, reshape(this.positionVector!, [this.positionVector!.size, 1])); // [B, T, dp] x [dp, 1] -> [B, T, 1]
    return mul(sigmoid(logit), S); // [B, T, 1]
  }

  /** Loads the reference names `W_a.weight` [d, d], `W_p.weight` [dp, d], `v_p` [dp]; checked first, nothing written on failure. */
  loadTorchStateDict(state: Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>): void {
    const op = 'LuongLocalAttention.loadTorchStateDict';
    if (typeof state !== 'object' || state === null)
      throw new StateDictError(`state must be an object of tensors by PyTorch name, got ${String(state)}`, {
        op,
        argument: 'state',
        keys: [],
      });
    const own = new Map(this.namedParameters());
    const renamed: Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }> = {};
    for (const [key, value] of Object.entries(state)) {
      const heed = TORCH_NAMES[key];
      if (!heed || !own.has(heed)) {
        throw new StateDictError(
          `unexpected key '${key}' for mode '${this.mode}' (expects ${Object.keys(TORCH_NAMES)
            .filter((k) => own.has(TORCH_NAMES[k]!))
            .join(', ')})`,
          { op, argument: key, keys: [key] },
        );
      }
      const expected = own.get(heed)!.shape;
      if (Array.isArray(value?.shape) && value.shape.join() !== expected.join()) {
        throw new StateDictError(`key '${key}' has shape ${formatShape(value.shape)}, this layer expects ${formatShape(expected)}`, {
          op,
          argument: key,
          keys: [key],
          shapes: { expected, got: value.shape },
        });
      }
      renamed[heed] = checkStateDictEntry(op, key, value, expected); // not null, its size, finite numbers
    }
    const missing = Object.keys(TORCH_NAMES).filter((k) => own.has(TORCH_NAMES[k]!) && !(TORCH_NAMES[k]! in renamed));
    if (missing.length > 0) throw new StateDictError(`missing keys: ${missing.join(', ')}`, { op, argument: 'state', keys: missing });
    this.loadStateDict(renamed);
  }
}

/** A constant tensor of `shape`, entry n = value(n), where `like` lives (built on the host, uploaded for a device). */
function constantLike(like: Tensor, value: (n: number) => number, shape: number[]): Tensor {
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, n) => value(n));
  return like.storage === null
    ? new Tensor(values, shape)
    : new Tensor(deviceBackend(like.device, 'LuongLocalAttention').upload(values), shape);
}

/** 1 where x > 0, else 0 (relu(x) is non-zero exactly there). [...] -> [...] */
function above(x: Tensor): Tensor {
  return where(relu(x), 1, 0); // [...]
}
