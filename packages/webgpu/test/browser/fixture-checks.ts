// PyTorch's numbers in the page: the sdpa_* and mha_* fixtures (fixtures/pytorch, bundled into the page) run on
// WebGPU, forward and backward, and are compared with PyTorch's float64 outputs and gradients. Attention weights
// are not compared: asking for them is a host-side path (needWeights: false here).
import { MultiHeadAttention, type MultiHeadForwardOptions } from '@heed/multi-head';
import { mul, reshape, scaledDotProductAttention, sum, Tensor, toDevice } from '@heed/tensor';
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
import { compare } from './compare';
import type { RouteCheck } from './route-result';

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

  /** Every sdpa_* and mha_* fixture, the masked ones with each way heed spells their mask. */
  async runAll(): Promise<void> {
    for (const f of [sdpaNoMask, sdpaCausal, sdpaCustomScale, sdpaKeyPaddingMask, sdpaLargeLogitsOffset, sdpaLargeLogitsScaled])
      await this.sdpa(f as StoredFixture);
    await this.mha(mhaSelfAttention as StoredFixture);
    await this.mha(mhaCrossKdimVdim as StoredFixture);
    await this.mha(mhaNoBias as StoredFixture);
    const causal = mhaCausal as StoredFixture;
    await this.mha(causal, { causal: true }, ' (causal: true)');
    await this.mha(causal, { attentionMask: keepMask(causal.inputs.attn_mask!) }, ' (keep-mask)');
    // Both of its masks as one keep-mask [B, Lq, Lk]; keyPaddingMask itself zeroes the padded keys with `where`,
    // which has no GPU kernel yet.
    const padded = mhaKeyPaddingAndAttnMask as StoredFixture;
    const [Lq, Lk] = padded.inputs.attn_mask!.shape as [number, number];
    const B = padded.inputs.key_padding_mask!.shape[0]!;
    const keep = Array.from({ length: B * Lq * Lk }, (_, i) => {
      const [b, q, k] = [Math.floor(i / (Lq * Lk)), Math.floor(i / Lk) % Lq, i % Lk];
      return Number(padded.inputs.attn_mask!.data[q * Lk + k]) || Number(padded.inputs.key_padding_mask!.data[b * Lk + k]) ? 0 : 1;
    });
    await this.mha(padded, { attentionMask: new Tensor(Float32Array.from(keep), [B, Lq, Lk]) }, ' (one keep-mask)');
  }
}
