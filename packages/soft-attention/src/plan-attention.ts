import {
  ArgumentError,
  broadcastShapes,
  broadcastStrides,
  checkFiniteOnDevice,
  checkOptionNames,
  concat,
  ConfigError,
  DeviceError,
  formatShape,
  full,
  mul,
  reshape,
  sameShape,
  ShapeError,
  Tensor,
  where,
} from '@heed/tensor';
import type { Scorer } from '@heed/scorers';
import { checkSegmentRules } from './check-segment-rules';
import { fusedScoreTerms, hasScoreTerms, type FusedScoreTerms } from './fused-score-terms';
import { toMask, type MaskLike } from './masks';
import type { Normalizer } from './normalizer';
import { CausalRule } from './variants/causal-rule';
import { AllOfRules, KeepRule } from './variants/keep-rule';
import { LocalWindowRule } from './variants/local-window';
import { SegmentRule } from './variants/segment-mask';
import { SlidingWindowRule } from './variants/sliding-window';

// Shape letters: B batch, H query heads, Hkv = H / groupSize key/value heads, Lq queries, Lk keys
// (X of them always visible: MultiHeadAttention's bias and zero keys), d features, dv value features.

/**
 * 'plain': the three steps, always. 'fused': one tiled kernel (online softmax, O(L) memory), or a
 * ConfigError saying why this configuration cannot fuse. 'auto': fused when it can be and the weights
 * are not needed (`needWeights: false`), plain otherwise. Both paths give the same numbers.
 * Fusable: a scorer and a normalizer that declare the capability (`fusedScore`, `fusedNormalizer`:
 * heed's `dot`, `scaled-dot`, softmax and `SoftmaxWithSinks` do), no additiveMask, no dropout while training;
 * attentionMask, keyPaddingMask, causal and the keep rules the kernels know (causal, sliding and local
 * windows, one `SegmentRule`, alone or ANDed) all fuse; any other keep rule runs on the plain path.
 * The variant scorers fuse around such a scorer: `RotaryScorer` (q and k are rotated first, O(L·d)),
 * `BiasedScorer` with `AlibiBias` or `RelativePositionBias` (any bias declaring `fusedBias`) and
 * `SoftcapScorer` outside the biases, with a softmax temperature of 1; a `ModifiedScorer`, a bias of your
 * own, a cap inside a bias, or `or` of keep rules run on the plain path.
 */
export type AttendImplementation = 'auto' | 'plain' | 'fused';

/** Where the heads axis sits: 'heads-first' [..., H, L, d] or 'sequence-first' [..., L, H, d]. */
export type AttentionLayout = 'heads-first' | 'sequence-first';

/**
 * The attention options of every public call, by the same names: `attend`, `SoftAttention.forward`,
 * `SelfAttention.forward` and `MultiHeadAttention.forward` all take these, and nothing renames them
 * on the way down. Masks keep: 1 (true) = may attend.
 */
export interface AttentionCallOptions {
  /** Keep-mask (1 = may attend) broadcastable to the scores [..., Lq, Lk]. */
  attentionMask?: MaskLike;
  /** Keep-mask [B, Lk]: 1 = real key, 0 = padding (PyTorch's key_padding_mask is the opposite). Padded keys and values are never read. */
  keyPaddingMask?: MaskLike;
  /** Float mask added to the scores (0 = keep, −∞ = drop, or any bias), broadcastable to [..., Lq, Lk]. */
  additiveMask?: Tensor;
  /**
   * Query i may attend key j ≤ i + offset: `true` is offset 0 (top-left aligned), `{ offset: Lk − Lq }`
   * aligns bottom-right. An index rule (`CausalRule`), never a stored mask.
   */
  causal?: boolean | { offset: number };
  /**
   * Which keys each query may see, as a rule on indices (b, h, i, j) with i the query row and j the key
   * (`SlidingWindowRule`, `LocalWindowRule`, `SegmentRule`, `CausalRule`, a user's `keepRule(kind, fn)`,
   * combined with `and` / `or`); ANDed with the masks and `causal`. The fused path runs causal and the
   * windows (and their `and`) as key bounds, skipping the key tiles outside them, and one `SegmentRule`
   * ANDed with them as segment ids; the plain path materializes any rule with `toMask`, so other rules
   * send 'auto' to the plain path.
   */
  keepRule?: KeepRule;
  /**
   * Return the weights (default true). With false, `weights` is null and the call may take the fused
   * path, which never stores the [..., Lq, Lk] matrix (O(L) memory).
   */
  needWeights?: boolean;
  /** Which path computes the attention (default 'auto'; see `AttendImplementation`). */
  implementation?: AttendImplementation;
}

/** The keys i + windowStart ≤ j ≤ i + causalOffset of query row i (null: unbounded on that side): the keep rules the fused kernels run. */
export interface KeyBand {
  causalOffset: number | null;
  windowStart: number | null;
}

/** What the fused kernels run besides scale · q·k, the masks and the band: the score terms, the sinks and the segments. */
export interface FusedVariants extends Omit<FusedScoreTerms, 'base'> {
  /** Sink logits [H] (`SoftmaxWithSinks`), or null. */
  sinks: Tensor | null;
  /** Segment ids [B, Lq] and [B, Lk] flattened (`SegmentRule`), or null. */
  segments: { query: Int32Array; keys: Int32Array } | null;
}

/** What may be attended: the keep-masks ANDed into one view, AND every keep rule. */
export interface KeepPlan {
  /** attentionMask AND keyPaddingMask, broadcastable to the scores [..., H, Lq, Lk] (never copied to that size); null when neither is given. */
  mask: Tensor | null;
  /** How `mask.data` is read at score index [..., h, i, j]: its strides over the scores' axes, 0 where it broadcasts; null without a mask. */
  maskStrides: readonly number[] | null;
  /** Rules by (batch, head, query, key) index: causal (a `CausalRule`) and the call's `keepRule`. */
  rules: readonly KeepRule[];
  /** The rules as one band of keys per query when the fused kernels know every one of them; null otherwise (or without rules). */
  band: KeyBand | null;
}

/** What a public call hands the planner: its name, its (resolved) parts and its tensors. */
export interface AttentionCall {
  /** The public call, named in every error: 'attend', 'SoftAttention.forward', 'SelfAttention.forward', 'MultiHeadAttention.forward'. */
  op: string;
  /** [..., Lq, dq] (or [..., Lq, H, dq] with layout 'sequence-first') */
  query: Tensor;
  /** [..., Lk, dk] (or [..., Lk, Hkv, dk]) */
  keys: Tensor;
  /** [..., Lk, dv] (or [..., Lk, Hkv, dv]) */
  values: Tensor;
  scorer: Scorer;
  normalizer: Normalizer;
  /** Query heads per key/value head (default 1). */
  groupSize?: number;
  layout?: AttentionLayout;
  /** Dropout probability on the weights (default 0), active while `training` (default true). */
  dropout?: number;
  training?: boolean;
  /** How the call names query, keys and values in its errors (SelfAttention: x; MultiHeadAttention: query, key, value). */
  names?: { query?: string; keys?: string; values?: string };
  /** MultiHeadAttention's mask forms: a rank-3 mask is [B, Lq, Lk], shared by the heads (not [H, Lq, Lk]). */
  batchMasks?: boolean;
  /** X trailing keys every query sees (MultiHeadAttention's bias and zero keys): masks cover the first Lk − X. */
  visibleExtraKeys?: number;
  /** Leading key positions already checked finite by an earlier call (a key/value cache's), skipped by the scan. */
  checkedKeyPositions?: number;
  /** The public call's own option names besides the attention options (attend: query, keys, ...; MultiHeadAttention: cache, ...). */
  optionNames?: readonly string[];
}

/** The options every attention call takes (`AttentionCallOptions`): any other name is refused, with the nearest one. */
const attentionOptionNames: readonly string[] = [
  'attentionMask',
  'keyPaddingMask',
  'additiveMask',
  'causal',
  'keepRule',
  'needWeights',
  'implementation',
];

/** Options renamed when the calls took one vocabulary: passing the old name would silently drop the mask, so it is refused. */
const renamedOptions: readonly [string, string][] = [
  ['mask', 'attentionMask'],
  ['additiveAttentionMask', 'additiveMask'],
  ['keep', 'attentionMask'],
];

/** A checked attention call: everything the plain and the fused path read, resolved once. */
export interface AttentionPlan {
  /** The public call (errors downstream name it too). */
  readonly op: string;
  /** The path that computes it. */
  readonly path: 'plain' | 'fused';
  /** Why the fused path is not taken (null when it is). */
  readonly reason: string | null;
  readonly layout: AttentionLayout;
  readonly groupSize: number;
  /** The scores' shape [..., H, Lq, Lk] (heads first whatever the layout). */
  readonly scoresShape: readonly number[];
  readonly keep: KeepPlan;
  /** Added to the scores, broadcastable to `scoresShape`, or null. */
  readonly additive: Tensor | null;
  /** The fused path's multiplier of q·k (the scorer's scale over the softmax temperature); null on the plain path. */
  readonly scale: number | null;
  /** The fused path's variants (RoPE, biases, cap, sinks, segments); null on the plain path. */
  readonly variants: FusedVariants | null;
  readonly needWeights: boolean;
  /** Dropout probability applied to the weights (0 when not training). */
  readonly dropout: number;
  readonly query: Tensor;
  /** The keys, with padded positions (keyPaddingMask) zeroed: never read. */
  readonly keys: Tensor;
  /** The values, with padded positions zeroed: never read, so nothing there reaches the context. */
  readonly values: Tensor;
}

/**
 * Resolves a call and its options into a checked plan. The only place attention shapes and options
 * are validated; every error names `call.op` and the argument as the caller spelled it.
 * Refuses NaN and ±∞ in query, keys and values (at positions that are read) and NaN or +∞ in
 * additiveMask: heed's one rule for non-finite inputs, on every path.
 *   query [..., Lq, dq], keys [..., Lk, dk], values [..., Lk, dv] -> plan with scores [..., H, Lq, Lk]
 */
export function planAttention(call: AttentionCall, options: AttentionCallOptions): AttentionPlan {
  const { op } = call;
  const names = { query: call.names?.query ?? 'query', keys: call.names?.keys ?? 'keys', values: call.names?.values ?? 'values' };
  for (const [argument, t] of [
    ['query', call.query],
    ['keys', call.keys],
    ['values', call.values],
  ] as const) {
    if (!(t instanceof Tensor))
      throw new ArgumentError(`${names[argument]} must be a Tensor, got ${describe(t)}`, { op, argument: names[argument] });
  }
  const shapes = { [names.query]: call.query.shape, [names.keys]: call.keys.shape, [names.values]: call.values.shape };
  if (typeof options !== 'object' || options === null)
    throw new ArgumentError(`options must be an object, got ${String(options)}`, { op, argument: 'options', shapes });
  for (const [old, now] of renamedOptions) {
    if (old in options) {
      throw new ArgumentError(`the option ${old} is now called ${now} (one name in every attention call)`, { op, argument: old, shapes });
    }
  }
  checkOptionNames(op, options, [...attentionOptionNames, ...(call.optionNames ?? [])], 'call', shapes);
  const layout = call.layout ?? 'heads-first';
  if (layout !== 'heads-first' && layout !== 'sequence-first') {
    throw new ArgumentError(`layout must be 'heads-first' or 'sequence-first', got ${JSON.stringify(layout)}`, {
      op,
      argument: 'layout',
      shapes,
    });
  }
  const groupSize = call.groupSize ?? 1;
  if (typeof groupSize !== 'number' || !Number.isInteger(groupSize) || groupSize < 1) {
    throw new ArgumentError(`groupSize must be a positive integer, got ${groupSize}`, { op, argument: 'groupSize', shapes });
  }
  const { queryShape, keyShape } = checkShapes(call, names, shapes, layout, groupSize);
  const lead = queryShape.slice(0, -2);
  const Lq = queryShape[queryShape.length - 2]!;
  const Lk = keyShape[keyShape.length - 2]!;
  const extra = call.visibleExtraKeys ?? 0;
  const maskedKeys = Lk - extra; // the keys masks describe
  const scoresShape = [...lead, Lq, Lk]; // [..., H, Lq, Lk]
  const maskTarget = [...lead, Lq, maskedKeys]; // [..., H, Lq, Lk − X]

  const causal = causalRule(op, options.causal, shapes);
  const userRule = options.keepRule;
  if (userRule !== undefined && !(userRule instanceof KeepRule)) {
    throw new ArgumentError(`keepRule must be a KeepRule (e.g. new SlidingWindowRule(W), keepRule(kind, fn)), got ${describe(userRule)}`, {
      op,
      argument: 'keepRule',
      shapes,
    });
  }
  const explicit =
    options.attentionMask === undefined
      ? null
      : viewMask(
          call,
          hostMask(op, 'attentionMask', toMaskNamed(op, 'attentionMask', options.attentionMask), shapes),
          maskTarget,
          'attentionMask',
          shapes,
        ); // broadcastable to [..., H, Lq, Lk − X]
  const padding =
    options.keyPaddingMask === undefined
      ? null
      : checkPadding(
          op,
          hostMask(op, 'keyPaddingMask', toMaskNamed(op, 'keyPaddingMask', options.keyPaddingMask), shapes),
          lead,
          maskedKeys,
          shapes,
        ); // [B, Lk − X]
  const paddingView = padding
    ? reshape(padding, lead.length === 0 ? [1, maskedKeys] : [lead[0]!, ...ones(lead.length - 1), 1, maskedKeys])
    : null; // [B, 1.., 1, Lk − X]
  let mask = combine(explicit, paddingView); // broadcastable to [..., H, Lq, Lk − X], or null
  const given = [causal, userRule ?? null].filter((rule): rule is KeepRule => rule !== null);
  checkSegmentRules(op, given, lead, Lq, maskedKeys, shapes);
  const rules: KeepRule[] = [];
  if (extra > 0)
    for (const rule of given) mask = combine(mask, ruleMask(rule, lead, Lq, maskedKeys)); // the extra keys stay visible: rules as masks [.., Lq, Lk − X]
  else rules.push(...given);
  if (mask && extra > 0) mask = padKeys(mask, extra, 1); // [.., Lq, Lk]: the extra keys stay visible
  const fusedRules = fusedRulesOf(rules);
  const band = fusedRules instanceof KeepRule ? fusedRules : fusedRules.band;

  let additive: Tensor | null = null;
  if (options.additiveMask !== undefined) {
    if (!(options.additiveMask instanceof Tensor))
      throw new ArgumentError(`additiveMask must be a Tensor, got ${describe(options.additiveMask)}`, {
        op,
        argument: 'additiveMask',
        shapes,
      });
    const device = options.additiveMask.device;
    if (device !== 'cpu' && device !== call.query.device) {
      throw new DeviceError(
        `additiveMask ${formatShape(options.additiveMask.shape)} is on '${device}' but ${names.query} is on '${call.query.device}': pass it on the CPU (heed uploads it for a device call) or on the device of the call`,
        { op, argument: 'additiveMask', shapes: { ...shapes, additiveMask: options.additiveMask.shape } },
      );
    }
    additive = viewMask(call, options.additiveMask, maskTarget, 'additiveMask', shapes); // broadcastable to [..., H, Lq, Lk − X]
    checkFinite(op, 'additiveMask', additive, { allowNegativeInfinity: true });
    if (extra > 0) additive = padKeys(additive, extra, 0); // [.., Lq, Lk]
  }

  const dropout = call.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new ArgumentError(`dropout must be a probability in [0, 1), got ${describe(dropout)}`, { op, argument: 'dropout', shapes });
  }
  const training = call.training ?? true;
  if (typeof training !== 'boolean')
    throw new ArgumentError(`training must be true or false, got ${describe(training)}`, { op, argument: 'training', shapes });
  const activeDropout = training ? dropout : 0;
  const needWeights = options.needWeights ?? true;
  if (typeof needWeights !== 'boolean')
    throw new ArgumentError(`needWeights must be true or false, got ${describe(needWeights)}`, { op, argument: 'needWeights', shapes });

  // Padded keys and values are never read: zeroed, so no NaN (or anything) there reaches the context or a gradient.
  const keys = padding ? hidePadded(call.keys, padding, layout, extra) : call.keys; // [..., Lk, dk] (or [..., Lk, Hkv, dk])
  const values = padding ? hidePadded(call.values, padding, layout, extra) : call.values; // [..., Lk, dv] (or [..., Lk, Hkv, dv])
  checkFinite(op, names.query, call.query);
  checkFinite(op, names.keys, keys, { fromPosition: call.checkedKeyPositions, layout });
  checkFinite(op, names.values, values, { fromPosition: call.checkedKeyPositions, layout });

  const fused = fusedScale(
    call,
    { additive, activeDropout, rules, band, segments: fusedRules instanceof KeepRule ? null : fusedRules.segments },
    queryShape,
    keyShape,
    names,
    shapes,
  ); // a scale and the variants, or why not
  const implementation = options.implementation ?? 'auto';
  if (implementation !== 'auto' && implementation !== 'plain' && implementation !== 'fused') {
    throw new ArgumentError(`implementation must be 'auto', 'plain' or 'fused', got ${JSON.stringify(implementation)}`, {
      op,
      argument: 'implementation',
      shapes,
    });
  }
  if (implementation === 'fused' && typeof fused === 'string') {
    throw new ConfigError(`implementation 'fused' cannot run this configuration: ${fused}. Use implementation 'auto' or 'plain'.`, {
      op,
      argument: 'implementation',
      shapes,
    });
  }
  const reason =
    typeof fused === 'string'
      ? fused
      : implementation === 'plain'
        ? "implementation 'plain' was asked for"
        : implementation === 'auto' && needWeights
          ? 'the weights are asked for (needWeights)'
          : null;
  return {
    op,
    path: reason === null ? 'fused' : 'plain',
    reason,
    layout,
    groupSize,
    scoresShape,
    keep: {
      mask,
      maskStrides: mask ? broadcastStrides(mask.shape, scoresShape) : null,
      rules,
      band: band instanceof KeepRule ? null : band,
    },
    additive,
    scale: reason === null ? (fused as FusedScale).scale : null,
    variants: reason === null ? (fused as FusedScale).variants : null,
    needWeights,
    dropout: activeDropout,
    query: call.query,
    keys,
    values,
  };
}

/** The plan's keep rule as one keep-mask broadcastable to the scores [..., H, Lq, Lk] (the plain path's view), or null when everything is kept. */
export function keepMaskOf(plan: AttentionPlan): Tensor | null {
  const lead = plan.scoresShape.slice(0, -2);
  const [Lq, Lk] = plan.scoresShape.slice(-2) as [number, number];
  return plan.keep.rules.reduce<Tensor | null>((mask, rule) => combine(mask, ruleMask(rule, lead, Lq, Lk)), plan.keep.mask); // broadcastable to [..., H, Lq, Lk]
}

/**
 * A keep rule as a keep-mask broadcastable to the scores [...lead, Lq, Lk]: [Lq, Lk] for the rules by
 * position only (causal, windows, their `and`), else evaluated per batch element (lead[0]) and head (the
 * last lead axis): [B, Lq, Lk] or [B, 1.., H, Lq, Lk].
 */
function ruleMask(rule: KeepRule, lead: readonly number[], Lq: number, Lk: number): Tensor {
  if (lead.length === 0 || !(bandOf([rule]) instanceof KeepRule)) return rule.toMask([Lq, Lk]); // [Lq, Lk]
  const B = lead[0]!;
  const H = lead.length > 1 ? lead[lead.length - 1]! : 1;
  const mask = rule.toMask([B, H, Lq, Lk]); // [B, H, Lq, Lk]
  return reshape(mask, lead.length === 1 ? [B, Lq, Lk] : [B, ...ones(lead.length - 2), H, Lq, Lk]); // -> [B, Lq, Lk] or [B, 1.., H, Lq, Lk]
}

/**
 * The band of keys i + windowStart ≤ j ≤ i + causalOffset that rules ANDed together allow, when each is
 * one the fused kernels know (causal, sliding window, local window, or an `and` of them); otherwise the
 * first rule that is not.
 */
function bandOf(rules: readonly KeepRule[]): KeyBand | KeepRule {
  let causalOffset: number | null = null;
  let windowStart: number | null = null;
  const bound = (end: number, start: number | null) => {
    causalOffset = causalOffset === null ? end : Math.min(causalOffset, end);
    if (start !== null) windowStart = windowStart === null ? start : Math.max(windowStart, start);
  };
  for (const rule of rules) {
    if (rule instanceof CausalRule) bound(rule.offset, null);
    else if (rule instanceof SlidingWindowRule)
      bound(rule.offset, rule.offset - rule.window + 1); // i − W < j ≤ i
    else if (rule instanceof LocalWindowRule)
      bound(rule.offset + rule.window, rule.offset - rule.window); // |i − j| ≤ w
    else if (rule instanceof AllOfRules) {
      const inner = bandOf(rule.rules);
      if (inner instanceof KeepRule) return inner;
      if (inner.causalOffset !== null) bound(inner.causalOffset, inner.windowStart);
      else if (inner.windowStart !== null) return rule;
    } else return rule;
  }
  return { causalOffset, windowStart };
}

/**
 * The rules as the fused kernels run them: one band of keys per query (causal and the windows) and at most
 * one `SegmentRule`, from rules ANDed together (`and` nests flatten); otherwise the first rule that is not.
 */
function fusedRulesOf(rules: readonly KeepRule[]): { band: KeyBand | null; segments: SegmentRule | null } | KeepRule {
  const leaves: KeepRule[] = [];
  const flatten = (rule: KeepRule): void => {
    if (rule instanceof AllOfRules) rule.rules.forEach(flatten);
    else leaves.push(rule);
  };
  rules.forEach(flatten);
  const segmentRules = leaves.filter((rule): rule is SegmentRule => rule instanceof SegmentRule);
  if (segmentRules.length > 1) return segmentRules[1]!;
  const positional = leaves.filter((rule) => !(rule instanceof SegmentRule));
  const band = positional.length > 0 ? bandOf(positional) : null;
  if (band instanceof KeepRule) return band;
  return { band, segments: segmentRules[0] ?? null };
}

/**
 * Checks the ranks and sizes of query, keys and values (with groupSize and layout) and returns the
 * query and key shapes read heads-first: [..., H, Lq, dq] and [..., Hkv, Lk, dk].
 */
function checkShapes(
  call: AttentionCall,
  names: { query: string; keys: string; values: string },
  shapes: Record<string, readonly number[]>,
  layout: AttentionLayout,
  groupSize: number,
): { queryShape: number[]; keyShape: number[] } {
  const { op, query, keys, values } = call;
  const withHeads = layout === 'sequence-first' || groupSize > 1;
  const minRank = withHeads ? 3 : 2;
  const form = layout === 'sequence-first' ? '[..., L, H, d]' : withHeads ? '[..., H, L, d]' : '[..., L, d]';
  const why = layout === 'sequence-first' ? "layout 'sequence-first' needs" : groupSize > 1 ? `groupSize ${groupSize} needs` : 'needs';
  if (query.rank < minRank || keys.rank !== query.rank) {
    throw new ShapeError(
      `${why} ${names.query} and ${names.keys} ${form} of the same rank ≥ ${minRank}, got ${names.query} ${formatShape(query.shape)} and ${names.keys} ${formatShape(keys.shape)}`,
      {
        op,
        argument: query.rank < minRank ? names.query : names.keys,
        shapes,
      },
    );
  }
  if (values.rank !== keys.rank || !sameShape(values.shape.slice(0, -1), keys.shape.slice(0, -1))) {
    throw new ShapeError(
      `${names.keys} ${formatShape(keys.shape)} and ${names.values} ${formatShape(values.shape)} must agree on every axis but the last (same rank, same number of keys Lk)`,
      {
        op,
        argument: names.values,
        shapes,
      },
    );
  }
  const queryShape = headsFirstShape(query.shape, layout);
  const keyShape = headsFirstShape(keys.shape, layout);
  const lead = queryShape.slice(0, -2);
  const H = lead[lead.length - 1] ?? 1;
  const expected = groupSize === 1 ? lead : [...lead.slice(0, -1), H / groupSize];
  if (H % groupSize !== 0 || !sameShape(keyShape.slice(0, -2), expected)) {
    const heads = withHeads
      ? ` (both ${form}; H / groupSize = ${H / groupSize} key/value heads, H a multiple of groupSize ${groupSize})`
      : '';
    throw new ShapeError(
      `${names.keys} ${formatShape(keys.shape)} must have the leading dims of ${names.query} ${formatShape(query.shape)}${heads}`,
      {
        op,
        argument: H % groupSize !== 0 ? 'groupSize' : names.keys,
        shapes,
      },
    );
  }
  const queryDim = queryShape[queryShape.length - 1]!;
  const keyDim = keyShape[keyShape.length - 1]!;
  if (queryDim === 0 || keyDim === 0) {
    throw new ShapeError(
      `${names.query} ${formatShape(query.shape)} and ${names.keys} ${formatShape(keys.shape)} need at least one feature (head size d ≥ 1)`,
      {
        op,
        argument: queryDim === 0 ? names.query : names.keys,
        shapes,
      },
    );
  }
  return { queryShape, keyShape };
}

/** The causal option as a keep rule, or null; refuses anything but a boolean or `{ offset }` with an integer offset. */
function causalRule(op: string, causal: AttentionCallOptions['causal'], shapes: Record<string, readonly number[]>): CausalRule | null {
  if (causal === undefined || causal === false) return null;
  const offset = causal === true ? 0 : typeof causal === 'object' && causal !== null ? causal.offset : NaN;
  if (!Number.isInteger(offset)) {
    throw new ArgumentError(`causal must be true, false or { offset } with an integer offset, got ${describe(causal)}`, {
      op,
      argument: 'causal',
      shapes,
    });
  }
  return new CausalRule(offset);
}

/**
 * A user's mask (keep or additive) as a view broadcastable to `target` [..., H, Lq, Lk]: numpy
 * broadcasting, except that with `batchMasks` a rank-3 mask is [B, Lq, Lk] (-> [B, 1, Lq, Lk]).
 */
function viewMask(
  call: AttentionCall,
  mask: Tensor,
  target: readonly number[],
  argument: string,
  shapes: Record<string, readonly number[]>,
): Tensor {
  const view =
    call.batchMasks && mask.rank === 3 && target.length === 4 ? reshape(mask, [mask.shape[0]!, 1, mask.shape[1]!, mask.shape[2]!]) : mask; // [B, Lq, Lk] -> [B, 1, Lq, Lk]
  let fits = view.rank <= target.length;
  try {
    fits = fits && sameShape(broadcastShapes(target, view.shape, call.op, ['scores', argument]), target);
  } catch {
    fits = false;
  }
  if (!fits) {
    const [B, H, Lq, Lk] = target as [number, number, number, number];
    const expected =
      call.batchMasks && target.length === 4
        ? `must be [Lq, Lk] = [${Lq}, ${Lk}], [B, Lq, Lk] = [${B}, ${Lq}, ${Lk}] or [B, H, Lq, Lk] = [${B}, ${H}, ${Lq}, ${Lk}] (B, H and Lq may be 1)`
        : `does not broadcast to the scores ${formatShape(target)}`;
    throw new ShapeError(`${argument} ${formatShape(mask.shape)} ${expected}`, {
      op: call.op,
      argument,
      shapes: { ...shapes, [argument]: mask.shape, scores: target },
    });
  }
  return view;
}

/** A key-padding keep-mask checked as [B, Lk] ([Lk] or [1, Lk] for an unbatched call). */
function checkPadding(op: string, padding: Tensor, lead: readonly number[], Lk: number, shapes: Record<string, readonly number[]>): Tensor {
  const B = lead[0] ?? 1;
  if (lead.length === 0 && padding.rank === 1 && padding.shape[0] === Lk) return reshape(padding, [1, Lk]); // [Lk] -> [1, Lk]
  if (padding.rank !== 2 || padding.shape[0] !== B || padding.shape[1] !== Lk) {
    const form = lead.length === 0 ? `[1, Lk] = [1, ${Lk}] or [Lk] = [${Lk}] (the call is unbatched)` : `[B, Lk] = [${B}, ${Lk}]`;
    throw new ShapeError(`keyPaddingMask ${formatShape(padding.shape)} must be ${form}, one entry per key`, {
      op,
      argument: 'keyPaddingMask',
      shapes: { ...shapes, keyPaddingMask: padding.shape },
    });
  }
  return padding;
}

/** keys or values with the padded positions zeroed: padding [B, Lk − X] (+ X visible keys) over [B, .., Lk, .., d]. */
function hidePadded(x: Tensor, padding: Tensor, layout: AttentionLayout, extra: number): Tensor {
  if (padding.data.every((keep) => keep !== 0)) return x;
  const full = extra > 0 ? padKeys(padding, extra, 1) : padding; // [B, Lk]
  const [B, Lk] = full.shape as [number, number];
  const rank = x.rank;
  // Lk sits at axis rank − 2 ([..., Lk, d]) or rank − 3 ('sequence-first' [..., Lk, Hkv, d]); B at axis 0 unless unbatched.
  const view = rank === 2 ? [Lk, 1] : layout === 'sequence-first' ? [B, ...ones(rank - 4), Lk, 1, 1] : [B, ...ones(rank - 3), Lk, 1];
  return where(reshape(full, view), x, 0); // [..., Lk, d]
}

/**
 * Refuses NaN and ±∞ (or only NaN and +∞ with `allowNegativeInfinity`) with an ArgumentError naming
 * the first offending index. `fromPosition` skips the leading key positions (already checked).
 */
function checkFinite(
  op: string,
  argument: string,
  x: Tensor,
  options: { allowNegativeInfinity?: boolean; fromPosition?: number | undefined; layout?: AttentionLayout } = {},
): void {
  const from = options.fromPosition ?? 0;
  // [outer, L, inner]: the key positions are axis rank − 2, or rank − 3 with 'sequence-first'.
  const axis = options.layout === 'sequence-first' ? x.rank - 3 : x.rank - 2;
  const L = from > 0 ? x.shape[axis]! : 1;
  const inner = from > 0 ? x.shape.slice(axis + 1).reduce((a, b) => a * b, 1) : x.size;
  const refusal = (index: number, value: string) =>
    new ArgumentError(
      `${argument} ${formatShape(x.shape)} holds ${value} at flat index ${index}: attention refuses NaN and ±∞ inputs${options.allowNegativeInfinity ? ' (−∞ drops a key, NaN and +∞ are refused)' : ''} (positions masked by keyPaddingMask are never read)`,
      { op, argument, shapes: { [argument]: x.shape } },
    );
  if (x.device !== 'cpu') {
    // On the device, queued with the work: the next read of that device rejects with the refusal.
    if (x.size > 0)
      checkFiniteOnDevice(op, argument, x, {
        allowNegativeInfinity: options.allowNegativeInfinity ?? false,
        L,
        inner,
        from,
        error: (index) => refusal(index, 'NaN or ±∞'),
      });
    return;
  }
  const data = x.data;
  // biome-ignore lint/suspicious/noSelfCompare: v !== v is the NaN test, cheaper than Number.isNaN in this scan
  const bad = (v: number): boolean => v !== v || v === Infinity || (v === -Infinity && !options.allowNegativeInfinity);
  for (let base = 0; base < data.length; base += L * inner) {
    const [start, end] = [base + Math.min(from, L) * inner, base + L * inner];
    if (!options.allowNegativeInfinity) {
      let probe = 0;
      for (let i = start; i < end; i++) probe += data[i]! * 0; // NaN exactly when some entry is NaN or ±∞
      if (probe === 0) continue;
    }
    for (let i = start; i < end; i++) {
      if (bad(data[i]!)) throw refusal(i, String(data[i]));
    }
  }
}

/** The fused path's multiplier of q·k and its variants. */
interface FusedScale {
  scale: number;
  variants: FusedVariants | null;
}

/**
 * The fused path's multiplier of q·k (and variants) when the parts declare the capability and nothing
 * else in the call needs the plain path, else the reason why not. A scorer declaring a fused score
 * compares q and k directly, so dq must equal dk (checked here for both paths).
 */
function fusedScale(
  call: AttentionCall,
  resolved: {
    additive: Tensor | null;
    activeDropout: number;
    rules: readonly KeepRule[];
    band: KeyBand | KeepRule | null;
    segments: SegmentRule | null;
  },
  queryShape: readonly number[],
  keyShape: readonly number[],
  names: { query: string; keys: string },
  shapes: Record<string, readonly number[]>,
): FusedScale | string {
  const { normalizer } = call;
  const queryDim = queryShape[queryShape.length - 1]!;
  const keyDim = keyShape[keyShape.length - 1]!;
  const lead = queryShape.slice(0, -2);
  const [Lq, Lk] = [queryShape[queryShape.length - 2]!, keyShape[keyShape.length - 2]!];
  const terms = fusedScoreTerms(call.scorer, Lq, Lk);
  const scorer = typeof terms === 'string' ? call.scorer : terms.base;
  const score = typeof scorer.fusedScore === 'function' ? scorer.fusedScore(keyDim) : null;
  if (score && queryDim !== keyDim) {
    throw new ShapeError(
      `the '${scorer.kind}' scorer compares query and key features directly, so dq must equal dk; got ${names.query} ${formatShape(call.query.shape)} (dq=${queryDim}) and ${names.keys} ${formatShape(call.keys.shape)} (dk=${keyDim})`,
      { op: call.op, argument: names.keys, shapes },
    );
  }
  if (typeof terms === 'string') return terms;
  if (terms.rotary && keyDim % 2 !== 0) return `RoPE needs an even head size, got d = ${keyDim}`; // the plain path refuses it, naming the call
  if (score?.kind !== 'dot') return `the scorer '${scorer.kind}' does not declare a fused score (fusedScore)`;
  const softmax = typeof normalizer.fusedNormalizer === 'function' ? normalizer.fusedNormalizer() : null;
  if (softmax?.kind !== 'softmax') return `the normalizer '${normalizer.kind}' does not declare a fused normalizer (only softmax fuses)`;
  if (resolved.additive) return 'an additiveMask is given, and only keep-masks (attentionMask, keyPaddingMask, causal) fuse';
  if (resolved.activeDropout > 0) return `dropout ${resolved.activeDropout} is active while training`;
  if (resolved.band instanceof KeepRule)
    return `the keep rule '${resolved.band.kind}' has no fused kernel (causal, sliding-window, local-window and one segments rule, alone or combined with and, do)`;
  const scale = score.scale / softmax.temperature;
  if (!Number.isFinite(scale)) return `the scale ${score.scale} / temperature ${softmax.temperature} is not finite`;
  const sinks = softmax.sinks ?? null;
  if (!hasScoreTerms(terms) && !terms.rotary && !sinks && !resolved.segments) return { scale, variants: null };
  if (softmax.temperature !== 1 && hasScoreTerms(terms)) return `a softmax temperature ${softmax.temperature} with biases or a soft-cap`;
  // Per-head terms read the heads as the last leading dim, segments the batch as the first: [B, H] at most.
  const H = lead[lead.length - 1] ?? 1;
  const perHead = terms.alibi !== null || terms.relativeBias !== null || sinks !== null;
  if (perHead) {
    const wanted = [terms.alibi?.slopes.length, terms.relativeBias?.shape[0], sinks?.size].filter((x) => x !== undefined);
    if (lead.length === 0 || wanted.some((count) => count !== H)) return `the per-head terms do not have one entry per head (H = ${H})`;
  }
  let segments: FusedVariants['segments'] = null;
  if (resolved.segments) {
    if (lead.length > 2 || (perHead && lead.length < 2)) return 'segments fuse for [B, H, L, d] or [B, L, d] queries only';
    const B = lead.length === 0 ? 1 : lead[0]!;
    const rule = resolved.segments;
    const ids = [...rule.querySegments, ...rule.keySegments];
    if (!ids.every((row) => row.every((id) => Number.isInteger(id) && Math.abs(id) < 2 ** 31)))
      return 'the segment ids are not all 32-bit integers';
    if (
      rule.querySegments.length !== B ||
      rule.querySegments.some((row) => row.length < Lq) ||
      rule.keySegments.some((row) => row.length < Lk)
    )
      return `the segment ids (${rule.querySegments.length} rows) do not fit B = ${B}, Lq = ${Lq}, Lk = ${Lk}`;
    segments = {
      query: Int32Array.from(rule.querySegments.flatMap((row) => row.slice(0, Lq))), // [B, Lq]
      keys: Int32Array.from(rule.keySegments.flatMap((row) => row.slice(0, Lk))), // [B, Lk]
    };
  }
  const { base: _base, ...scoreTerms } = terms;
  return { scale, variants: { ...scoreTerms, sinks, segments } };
}

/** A shape read heads-first: 'sequence-first' [..., L, H, d] -> [..., H, L, d]. */
export function headsFirstShape(shape: readonly number[], layout: AttentionLayout): number[] {
  if (layout === 'heads-first') return [...shape];
  const rank = shape.length;
  return [...shape.slice(0, -3), shape[rank - 2]!, shape[rank - 3]!, shape[rank - 1]!];
}

/** A mask argument as a 0/1 tensor; anything that is not a Tensor or nested numbers/booleans is refused, naming the call. */
function toMaskNamed(op: string, argument: string, mask: MaskLike): Tensor {
  if (!(mask instanceof Tensor) && !Array.isArray(mask))
    throw new ArgumentError(`${argument} must be a Tensor or nested arrays of 0/1 or booleans, got ${describe(mask)}`, { op, argument });
  return toMask(mask);
}

/**
 * `mask` if it is a host tensor. Keep-masks live on the CPU, whatever the device of the call: heed reads them there
 * to choose which keys are read (the padding, the fused kernels' key bounds) and uploads what a device call needs.
 */
function hostMask(op: string, argument: string, mask: Tensor, shapes: Record<string, readonly number[]>): Tensor {
  if (mask.device === 'cpu') return mask;
  throw new DeviceError(
    `${argument} ${formatShape(mask.shape)} is on '${mask.device}': keep-masks are host tensors (heed reads them on the CPU and uploads what a device call needs); pass it on the CPU (\`await toCpu(mask)\`)`,
    { op, argument, shapes: { ...shapes, [argument]: mask.shape } },
  );
}

/** Keep-masks ANDed (broadcasting); null when none. */
function combine(a: Tensor | null, b: Tensor | null): Tensor | null {
  return a && b ? mul(a, b) : (a ?? b);
}

/** Appends `count` key columns holding `fill`: [..., Lk] -> [..., Lk + count]. */
function padKeys(mask: Tensor, count: number, fill: number): Tensor {
  return concat([mask, full([...mask.shape.slice(0, -1), count], fill)], -1); // [..., Lk] ++ [..., count] -> [..., Lk + count]
}

function ones(count: number): number[] {
  return new Array<number>(Math.max(count, 0)).fill(1);
}

function describe(x: unknown): string {
  if (x instanceof Tensor) return `a Tensor ${formatShape(x.shape)}`;
  if (typeof x === 'string') return JSON.stringify(x);
  if (typeof x === 'object' && x !== null) return Array.isArray(x) ? 'an array' : (JSON.stringify(x) ?? 'an object');
  return String(x);
}
