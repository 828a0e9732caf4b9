import { checkStateDictEntry, sizeOf, StateDictError, Tensor, type Parameter, type StateDictValueOptions } from '@heed/tensor';

/** A state dict as PyTorch names it: tensors, or `{ shape, data }` records (e.g. parsed from JSON). */
export type TorchStateDict = Record<string, Tensor | { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>;

export interface LoadTorchStateDictOptions extends StateDictValueOptions {
  /**
   * Refuse missing and unexpected keys (default true). With false, keys the layer does not know are
   * ignored and parameters without a key keep their values; shapes are checked either way.
   */
  strict?: boolean;
  /** Only keys starting with this prefix are read, without it (e.g. `'self_attn.'` inside a TransformerEncoderLayer). */
  prefix?: string;
}

/** What the PyTorch layout of a layer depends on. */
export interface TorchLayoutSource {
  readonly embedDim: number;
  readonly keyDim: number;
  readonly valueDim: number;
  /** Hkv·d, the size of the projected keys and values (embedDim unless GQA/MQA). */
  readonly keyValueEmbedDim: number;
  readonly bias: boolean;
  readonly addBiasKv: boolean;
  namedParameters(): [string, Parameter][];
  loadStateDict(
    state: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>,
    options?: { strict?: boolean } & StateDictValueOptions,
  ): void;
}

/** One PyTorch tensor: its key, its shape, and the heed parameters whose row-major data, concatenated in order, make it up. */
export interface TorchEntry {
  readonly torchName: string;
  readonly shape: readonly number[];
  readonly parts: readonly string[];
}

/**
 * The `nn.MultiheadAttention` state dict of a layer, key by key. `packed`: one `in_proj_weight`
 * [E + 2·Ekv, E] (rows: W_q, then W_k, then W_v; PyTorch's form when kdim = vdim = E), else
 * `q_proj_weight` [E, E], `k_proj_weight` [Ekv, kdim], `v_proj_weight` [Ekv, vdim].
 */
export function torchEntries(layer: TorchLayoutSource, packed: boolean): TorchEntry[] {
  const { embedDim: E, keyValueEmbedDim: Ekv, keyDim, valueDim } = layer;
  const entries: TorchEntry[] = packed
    ? [
        {
          torchName: 'in_proj_weight',
          shape: [E + 2 * Ekv, E],
          parts: ['queryProjection.weight', 'keyProjection.weight', 'valueProjection.weight'],
        },
      ]
    : [
        { torchName: 'q_proj_weight', shape: [E, E], parts: ['queryProjection.weight'] },
        { torchName: 'k_proj_weight', shape: [Ekv, keyDim], parts: ['keyProjection.weight'] },
        { torchName: 'v_proj_weight', shape: [Ekv, valueDim], parts: ['valueProjection.weight'] },
      ];
  if (layer.bias)
    entries.push({
      torchName: 'in_proj_bias',
      shape: [E + 2 * Ekv],
      parts: ['queryProjection.bias', 'keyProjection.bias', 'valueProjection.bias'],
    });
  if (layer.addBiasKv) {
    entries.push({ torchName: 'bias_k', shape: [1, 1, Ekv], parts: ['biasKey'] });
    entries.push({ torchName: 'bias_v', shape: [1, 1, Ekv], parts: ['biasValue'] });
  }
  entries.push({ torchName: 'out_proj.weight', shape: [E, E], parts: ['outputProjection.weight'] });
  if (layer.bias) entries.push({ torchName: 'out_proj.bias', shape: [E], parts: ['outputProjection.bias'] });
  return entries;
}

/** PyTorch stores q/k/v packed exactly when the key and value inputs have embedDim features. */
export function packsInputProjections(layer: TorchLayoutSource): boolean {
  return layer.keyDim === layer.embedDim && layer.valueDim === layer.embedDim;
}

/**
 * Loads an `nn.MultiheadAttention` state dict into heed's parameters: checks every key, shape and value
 * first (nothing is written unless all fit; null entries, strings and — unless `allowNonFinite` —
 * NaN/±Infinity weights are refused), then splits the packed tensors. Masks are not weights:
 * nothing here touches a mask convention.
 */
export function loadTorchStateDict(layer: TorchLayoutSource, stateDict: TorchStateDict, options: LoadTorchStateDictOptions = {}): void {
  const op = 'MultiHeadAttention.loadTorchStateDict';
  const strict = options.strict ?? true;
  const prefix = options.prefix ?? '';
  if (typeof stateDict !== 'object' || stateDict === null) {
    throw new StateDictError(
      `stateDict must be an object of tensors by PyTorch name, got ${stateDict === null ? 'null' : typeof stateDict}`,
      { op, argument: 'stateDict', keys: [] },
    );
  }
  const given = new Map(
    Object.entries(stateDict)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [key.slice(prefix.length), value] as const),
  );
  const packed = packsInputProjections(layer) && (given.has('in_proj_weight') || !given.has('q_proj_weight'));
  const entries = torchEntries(layer, packed);
  const expected = entries.map((e) => e.torchName);
  const missing = expected.filter((name) => !given.has(name));
  const unexpected = [...given.keys()].filter((name) => !expected.includes(name));
  if (strict && (missing.length > 0 || unexpected.length > 0)) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing keys: ${missing.map((k) => prefix + k).join(', ')}`);
    if (unexpected.length > 0) parts.push(`unexpected keys: ${unexpected.map((k) => prefix + k).join(', ')}`);
    const why = unexpected.includes('in_proj_weight')
      ? ` (keyDim ${layer.keyDim} / valueDim ${layer.valueDim} differ from embedDim ${layer.embedDim}, so PyTorch stores q_proj_weight, k_proj_weight, v_proj_weight)`
      : '';
    throw new StateDictError(`${parts.join('; ')}${why}; this layer expects: ${expected.map((k) => prefix + k).join(', ')}`, {
      op,
      argument: 'stateDict',
      keys: [...missing, ...unexpected].map((k) => prefix + k),
    });
  }
  const own = new Map(layer.namedParameters());
  const heed: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
  for (const entry of entries) {
    if (!given.has(entry.torchName)) continue; // only without strict
    // Every entry is checked (not null, its shape, finite numbers) before anything is written.
    const value = checkStateDictEntry(op, prefix + entry.torchName, given.get(entry.torchName), entry.shape, options);
    let offset = 0;
    for (const name of entry.parts) {
      const shape = own.get(name)!.shape;
      const size = sizeOf(shape);
      heed[name] = { shape, data: Float32Array.from({ length: size }, (_, i) => value.data[offset + i]!) };
      offset += size;
    }
  }
  layer.loadStateDict(heed, { strict: false, allowNonFinite: options.allowNonFinite ?? false }); // scorer parameters have no PyTorch counterpart and keep their values
}

/**
 * Tensors under PyTorch's names built from each heed parameter through `pick` (its values, or its
 * gradient); a parameter `pick` returns null for counts as zeros.
 */
export function toTorchLayout(layer: TorchLayoutSource, pick: (p: Parameter) => Tensor | null): Record<string, Tensor> {
  const own = new Map(layer.namedParameters());
  const out: Record<string, Tensor> = {};
  for (const entry of torchEntries(layer, packsInputProjections(layer))) {
    const data = new Float32Array(sizeOf(entry.shape));
    let offset = 0;
    for (const name of entry.parts) {
      const p = own.get(name)!;
      const source = pick(p);
      if (source) data.set(source.data, offset);
      offset += p.size;
    }
    out[entry.torchName] = new Tensor(data, entry.shape);
  }
  return out;
}
