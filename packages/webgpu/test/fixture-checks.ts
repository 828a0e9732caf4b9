// PyTorch's numbers in the page: the sdpa_* and mha_* fixtures (fixtures/pytorch, bundled into the page) and the
// ALiBi, soft-cap, window, document-mask, sinks and T5 relative-bias variants (fixtures/variants) run on WebGPU, forward
// and backward, and are compared with
// PyTorch's float64 outputs and gradients. Attention weights are not compared: asking for them is a host-side path
// (needWeights: false here).
import { MultiHeadAttention, type MultiHeadForwardOptions } from '@heed/multi-head';
import { mul, reshape, type ScaledDotProductAttentionOptions, scaledDotProductAttention, sum, Tensor, toDevice } from '@heed/tensor';
import mhaCausal from '../../../../fixtures/pytorch/mha_causal.json';
import mhaCrossKdimVdim from '../../../../fixtures/pytorch/mha_cross_kdim_vdim.json';
import mhaKeyPaddingAndAttnMask from '../../../../fixtures/pytorch/mha_key_padding_and_attn_mask.json';
import mhaNoBias from '../../../../fixtures/pytorch/mha_no_bias_need_weights_false.json';
import mhaSelfAttention from '../../../../fixtures/pytorch/mha_self_attention.json';
import sdpaCausal from '../../../../fixtures/pytorch/sdpa_causal.json';
import sdpaCustomScale from '../../../../fixtures/pytorch/sdpa_custom_scale.json';
import sdpaKeyPaddingMask from '../../../../fixtures/pytorch/sdpa_key_padding_mask.json';
import sdpaLargeLogitsOffset from '../../../../fixtures/pytorch/sdpa_large_logits_offset.json';
import sdpaLargeLogitsScaled from '../../../../fixtures/pytorch/sdpa_large_logits_scaled.json';
import sdpaNoMask from '../../../../fixtures/pytorch/sdpa_no_mask.json';
import alibiCausal from '../../../../fixtures/variants/alibi_causal.json';
import alibiNonPowerOfTwo from '../../../../fixtures/variants/alibi_non_power_of_two.json';
import attentionSinksGptoss from '../../../../fixtures/variants/attention_sinks_gptoss.json';
import documentMaskCausal from '../../../../fixtures/variants/document_mask_causal.json';
import localWindowBidirectional from '../../../../fixtures/variants/local_window_bidirectional.json';
import slidingWindowCausal from '../../../../fixtures/variants/sliding_window_causal.json';
import softcapGemma2 from '../../../../fixtures/variants/softcap_gemma2.json';
import t5RelativeBiasBidirectional from '../../../../fixtures/variants/t5_relative_bias_bidirectional.json';
import t5RelativeBiasCausal from '../../../../fixtures/variants/t5_relative_bias_causal.json';
import { compare } from './compare';
import type { RouteCheck, RouteRefusal } from './route-result';

interface StoredTensor {
  readonly shape: number[];
  readonly data: (number | string)[];
}

interface StoredFixture {
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly inputs: Record<string, StoredTensor>;
  readonly params: Record<string, StoredTensor>;
  readonly outputs: Record<string, StoredTensor>;
  readonly grad_outputs?: Record<string, StoredTensor>;
  readonly grads?: { inputs?: Record<string, StoredTensor>; params?: Record<string, StoredTensor> };
}

/** A host tensor from a stored one ("-Infinity" and friends converted; float32 inputs are exact). */
function host(t: StoredTensor, map: (v: number) => number = (v) => v): Tensor {
  return new Tensor(
    Float32Array.from(t.data, (v) => map(Number(v))),
    t.shape,
  );
}

/** A stored input on the GPU, a leaf requiring its gradient. */
async function onGpu(t: StoredTensor): Promise<Tensor> {
  const leaf = await toDevice(host(t), 'webgpu');
  leaf.requiresGrad = true;
  return leaf;
}

/** PyTorch's boolean mask (1 = may NOT attend) as heed's keep-mask (1 = may attend), a host tensor. */
function keepMask(t: StoredTensor): Tensor {
  return host(t, (v) => (v ? 0 : 1));
}

export class FixtureChecks {
  readonly checks: RouteCheck[] = [];
  readonly devices = new Set<string>();
  readonly refusals: RouteRefusal[] = [];

  private async check(name: string, gpu: Tensor, reference: StoredTensor): Promise<void> {
    this.devices.add(gpu.device);
    this.checks.push(compare(`fixture ${name}`, await gpu.read(), gpu.shape, reference.data.map(Number), reference.shape));
  }

  /** scaledDotProductAttention on a sdpa_* fixture: the output, and the gradients where PyTorch stored them. */
  async sdpa(f: StoredFixture): Promise<void> {
    const config = f.config as { scale: number; mask: string; B: number; Lk: number };
    const [query, keys, values] = [await onGpu(f.inputs.query!), await onGpu(f.inputs.key!), await onGpu(f.inputs.value!)]; // [B, Lq, d], [B, Lk, d], [B, Lk, dv]
    const options =
      config.mask === 'causal'
        ? { causal: true }
        : config.mask === 'key_padding'
          ? { attentionMask: reshape(keepMask(f.inputs.key_padding_mask!), [config.B, 1, config.Lk]) } // [B, 1, Lk]
          : {};
    const output = scaledDotProductAttention(query, keys, values, { scale: config.scale, ...options }); // [B, Lq, dv]
    await this.check(`${f.name} output`, output, f.outputs.output!);
    if (!f.grad_outputs) return;
    sum(mul(output, await toDevice(host(f.grad_outputs.output!), 'webgpu'))).backward();
    const inputs: Record<string, Tensor> = { query, key: keys, value: values };
    for (const [name, reference] of Object.entries(f.grads?.inputs ?? {}))
      await this.check(`${f.name} grad ${name}`, inputs[name]!.grad!, reference);
  }

  /** MultiHeadAttention with PyTorch's weights on a mha_* fixture: the output and every gradient PyTorch stored. */
  async mha(f: StoredFixture, options: MultiHeadForwardOptions = {}, label = ''): Promise<void> {
    const c = f.config as Record<string, number | boolean>;
    const layer = new MultiHeadAttention({
      embedDim: c.embed_dim as number,
      numHeads: c.num_heads as number,
      keyDim: c.kdim as number,
      valueDim: c.vdim as number,
      bias: c.bias as boolean,
    });
    layer.loadTorchStateDict(Object.fromEntries(Object.entries(f.params).map(([name, t]) => [name, host(t)])));
    await layer.toDevice('webgpu');
    const self = f.inputs.x !== undefined;
    const x = self ? await onGpu(f.inputs.x!) : null; // [B, L, E]
    const query = x ?? (await onGpu(f.inputs.query!)); // [B, Lq, E]
    const key = x ?? (await onGpu(f.inputs.key!)); // [B, Lk, kdim]
    const value = x ?? (await onGpu(f.inputs.value!)); // [B, Lk, vdim]
    const { output } = layer.forward(query, key, value, { ...options, needWeights: false }); // [B, Lq, E]
    const name = `${f.name}${label}`;
    await this.check(`${name} attn_output`, output, f.outputs.attn_output!);
    sum(mul(output, await toDevice(host(f.grad_outputs!.attn_output!), 'webgpu'))).backward();
    const inputs: Record<string, Tensor> = x ? { x } : { query, key, value };
    for (const [input, reference] of Object.entries(f.grads!.inputs!))
      await this.check(`${name} grad ${input}`, inputs[input]!.grad!, reference);
    // PyTorch's parameter names: in_proj_* stacks the query, key and value projections along the first axis.
    const own = new Map(layer.namedParameters());
    const parts: Record<string, string[]> = {
      in_proj_weight: ['queryProjection.weight', 'keyProjection.weight', 'valueProjection.weight'],
      in_proj_bias: ['queryProjection.bias', 'keyProjection.bias', 'valueProjection.bias'],
      q_proj_weight: ['queryProjection.weight'],
      k_proj_weight: ['keyProjection.weight'],
      v_proj_weight: ['valueProjection.weight'],
      'out_proj.weight': ['outputProjection.weight'],
      'out_proj.bias': ['outputProjection.bias'],
    };
    for (const [torchName, reference] of Object.entries(f.grads!.params!)) {
      const gradients = parts[torchName]!.map((part) => own.get(part)!.grad!);
      for (const g of gradients) this.devices.add(g.device);
      const stacked = (await Promise.all(gradients.map((g) => g.read()))).flatMap((values) => Array.from(values));
      this.checks.push(compare(`fixture ${name} grad ${torchName}`, stacked, reference.shape, reference.data.map(Number), reference.shape));
    }
  }

  /**
   * scaledDotProductAttention with a variant's options on a fixtures/variants one (q, k, v [B, H, L, d]): the output
   * and the gradients of q, k, v.
   */
  async variant(f: StoredFixture, options: (f: StoredFixture) => Promise<ScaledDotProductAttentionOptions>, label = ''): Promise<void> {
    const [q, k, v] = [await onGpu(f.inputs.q!), await onGpu(f.inputs.k!), await onGpu(f.inputs.v!)]; // [B, H, Lq, d], [B, H, Lk, d], [B, H, Lk, dv]
    const chosen = await options(f);
    const name = `${f.name}${label}`;
    const output = scaledDotProductAttention(q, k, v, { scale: f.config.scale as number, ...chosen }); // [B, H, Lq, dv]
    await this.check(`${name} output`, output, f.outputs.output!);
    sum(mul(output, await toDevice(host(f.grad_outputs!.output!), 'webgpu'))).backward();
    const inputs: Record<string, Tensor> = { q, k, v };
    for (const [input, reference] of Object.entries(f.grads!.inputs!))
      await this.check(`${name} grad ${input}`, inputs[input]!.grad!, reference);
    for (const [param, reference] of Object.entries(f.grads!.params ?? {})) {
      if (param === 'sinks' && chosen.sinks) await this.check(`${name} grad ${param}`, chosen.sinks.grad!, reference);
      else if (param === 'relative_attention_bias' && chosen.positionBias) {
        const gradient = chosen.positionBias.grad!;
        this.devices.add(gradient.device);
        const byBucket = sumByBucket(await gradient.read(), f); // [numBuckets, H]
        this.checks.push(compare(`fixture ${name} grad ${param}`, byBucket, reference.shape, reference.data.map(Number), reference.shape));
      } else throw new Error(`${f.name}: no parameter '${param}' in this call`);
    }
  }

  /**
   * T5's relative bias on a t5_relative_bias_* fixture: the table by offset [H, 2L − 1] read off PyTorch's position_bias
   * [H, L, L] (its bias depends on j − i only), on the GPU as a parameter; its gradient, summed over the offsets of each
   * of PyTorch's buckets, is relative_attention_bias's.
   */
  async t5(f: StoredFixture): Promise<void> {
    const [, H, L] = f.inputs.q!.shape as [number, number, number];
    const bias = f.outputs.position_bias!; // [H, L, L]
    const offsets = 2 * L - 1;
    const table = new Float32Array(H * offsets); // [H, 2L − 1]
    for (let h = 0; h < H; h++)
      for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) table[h * offsets + j - i + L - 1] = Number(bias.data[(h * L + i) * L + j]);
    const positionBias = await toDevice(new Tensor(table, [H, offsets]), 'webgpu');
    positionBias.requiresGrad = true;
    await this.variant(f, async () => ({ causal: f.config.causal === true, positionBias }));
  }

  /**
   * Every sdpa_* and mha_* fixture, the ALiBi, soft-cap, window and document-mask variants (each mask in the ways heed
   * spells it), sinks and T5's relative bias.
   */
  async runAll(): Promise<void> {
    for (const f of [sdpaNoMask, sdpaCausal, sdpaCustomScale, sdpaKeyPaddingMask, sdpaLargeLogitsOffset, sdpaLargeLogitsScaled])
      await this.sdpa(f as StoredFixture);
    const variant = (f: unknown) => f as StoredFixture;
    const number = (f: StoredFixture, key: string) => f.config[key] as number;
    for (const f of [alibiCausal, alibiNonPowerOfTwo].map(variant))
      await this.variant(f, async () => ({ causal: true, alibiSlopes: f.config.slopes as number[] }));
    await this.variant(variant(softcapGemma2), async (f) => ({ causal: true, softcap: number(f, 'cap') }));
    await this.variant(variant(slidingWindowCausal), async (f) => ({ causal: true, windowStart: 1 - number(f, 'W') }), ' (windowStart)');
    await this.variant(variant(slidingWindowCausal), async (f) => ({ attentionMask: keepMask(f.inputs.attn_mask!) }), ' (keep-mask)');
    await this.variant(
      variant(localWindowBidirectional),
      async (f) => ({ causal: { offset: number(f, 'w') }, windowStart: -number(f, 'w') }),
      ' (windowStart)',
    );
    await this.variant(variant(localWindowBidirectional), async (f) => ({ attentionMask: keepMask(f.inputs.attn_mask!) }), ' (keep-mask)');
    await this.variant(
      variant(documentMaskCausal),
      async (f) => {
        const segments = Int32Array.from((f.config.segment_ids as number[][]).flat()); // [B, L] flattened
        return { causal: true, querySegments: segments, keySegments: segments };
      },
      ' (segments)',
    );
    await this.variant(
      variant(documentMaskCausal),
      async (f) => ({ attentionMask: reshape(keepMask(f.inputs.attn_mask!), [number(f, 'B'), 1, number(f, 'L'), number(f, 'L')]) }), // [B, 1, L, L]
      ' (keep-mask)',
    );
    await this.variant(variant(attentionSinksGptoss), async (f) => {
      const [B, Lk] = f.inputs.key_padding_mask!.shape as [number, number];
      const attentionMask = reshape(keepMask(f.inputs.key_padding_mask!), [B, 1, 1, Lk]); // [B, 1, 1, Lk]
      return { causal: true, sinks: await onGpu(f.params.sinks!), attentionMask }; // sinks [H]
    });
    for (const f of [t5RelativeBiasBidirectional, t5RelativeBiasCausal].map(variant)) await this.t5(f);
    await this.mha(mhaSelfAttention as StoredFixture);
    await this.mha(mhaCrossKdimVdim as StoredFixture);
    await this.mha(mhaNoBias as StoredFixture);
    const causal = mhaCausal as StoredFixture;
    await this.mha(causal, { causal: true }, ' (causal: true)');
    await this.mha(causal, { attentionMask: keepMask(causal.inputs.attn_mask!) }, ' (keep-mask)');
    const padded = mhaKeyPaddingAndAttnMask as StoredFixture;
    await this.mha(
      padded,
      { keyPaddingMask: keepMask(padded.inputs.key_padding_mask!), attentionMask: keepMask(padded.inputs.attn_mask!) },
      ' (keep-masks)',
    );
    // Both of its masks as one keep-mask [B, Lq, Lk].
    const [Lq, Lk] = padded.inputs.attn_mask!.shape as [number, number];
    const B = padded.inputs.key_padding_mask!.shape[0]!;
    const keep = Array.from({ length: B * Lq * Lk }, (_, i) => {
      const [b, q, k] = [Math.floor(i / (Lq * Lk)), Math.floor(i / Lk) % Lq, i % Lk];
      return Number(padded.inputs.attn_mask!.data[q * Lk + k]) || Number(padded.inputs.key_padding_mask!.data[b * Lk + k]) ? 0 : 1;
    });
    await this.mha(padded, { attentionMask: new Tensor(Float32Array.from(keep), [B, Lq, Lk]) }, ' (one keep-mask)');
  }
}

/**
 * The gradient of T5's bucket table [numBuckets, H] from that of the table by offset [H, 2L − 1]: each offset j − i
 * adds into its bucket, read off the fixture's relative_position_bucket [L, L] (PyTorch's bucketing).
 */
function sumByBucket(byOffset: Float32Array, f: StoredFixture): number[] {
  const [, H, L] = f.inputs.q!.shape as [number, number, number];
  const buckets = f.outputs.relative_position_bucket!; // [L, L]
  const numBuckets = f.config.num_buckets as number;
  const offsets = 2 * L - 1;
  const out = new Array<number>(numBuckets * H).fill(0); // [numBuckets, H]
  for (let t = 0; t < offsets; t++) {
    const i = Math.max(0, L - 1 - t); // a (query, key) pair with j − i = t − (L − 1)
    const bucket = Number(buckets.data[i * L + i + t - (L - 1)]);
    for (let h = 0; h < H; h++) out[bucket * H + h]! += byOffset[h * offsets + t]!;
  }
  return out;
}
