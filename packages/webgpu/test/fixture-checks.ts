// PyTorch's numbers on WebGPU, one source for both routes: the Node tests (src/webgpu-fixtures.test.ts, Dawn's
// bindings) run each entry of FIXTURE_RUNS as a test, and the browser page (browser/page.ts, bundled with the fixtures)
// runs them all in headless Chromium. Every fixture of fixtures/pytorch and fixtures/variants but the normalizer ones
// (sparsemax, entmax, Gumbel-softmax) runs through heed's public API on tensors moved to the GPU with toDevice: forward,
// backward, `await t.read()`, each output and every stored gradient compared with PyTorch's float64 ones (compare.ts).
import { LlamaAttention, type LlamaAttentionOptions, MultiHeadAttention, type MultiHeadForwardOptions } from '@heed/multi-head';
import { AdditiveScorer, ConcatScorer, CosineScorer, DotScorer, GeneralScorer, ScaledDotScorer, type Scorer } from '@heed/scorers';
import {
  AlibiBias,
  type AttendOptions,
  applyRotaryEmbedding,
  attend,
  BiasedScorer,
  CausalRule,
  causalMask,
  LuongLocalAttention,
  linearAttention,
  linearAttentionWeights,
  RelativePositionBias,
  RotaryScorer,
  SegmentRule,
  SoftcapScorer,
  SoftmaxWithSinks,
} from '@heed/soft-attention';
import {
  matmul,
  mul,
  reshape,
  type ScaledDotProductAttentionOptions,
  scaledDotProductAttention,
  softmax,
  sum,
  Tensor,
  toDevice,
} from '@heed/tensor';
import bahdanauAdditive from '../../../fixtures/pytorch/bahdanau_additive.json';
import cosineAttention from '../../../fixtures/pytorch/cosine_attention.json';
import luongConcat from '../../../fixtures/pytorch/luong_concat.json';
import luongDot from '../../../fixtures/pytorch/luong_dot.json';
import luongGeneral from '../../../fixtures/pytorch/luong_general.json';
import mhaCausal from '../../../fixtures/pytorch/mha_causal.json';
import mhaCrossKdimVdim from '../../../fixtures/pytorch/mha_cross_kdim_vdim.json';
import mhaKeyPaddingAndAttnMask from '../../../fixtures/pytorch/mha_key_padding_and_attn_mask.json';
import mhaNoBias from '../../../fixtures/pytorch/mha_no_bias_need_weights_false.json';
import mhaSelfAttention from '../../../fixtures/pytorch/mha_self_attention.json';
import sdpaCausal from '../../../fixtures/pytorch/sdpa_causal.json';
import sdpaCustomScale from '../../../fixtures/pytorch/sdpa_custom_scale.json';
import sdpaKeyPaddingMask from '../../../fixtures/pytorch/sdpa_key_padding_mask.json';
import sdpaLargeLogitsOffset from '../../../fixtures/pytorch/sdpa_large_logits_offset.json';
import sdpaLargeLogitsScaled from '../../../fixtures/pytorch/sdpa_large_logits_scaled.json';
import sdpaNoMask from '../../../fixtures/pytorch/sdpa_no_mask.json';
import torchBehaviourMhaFullyMaskedRows from '../../../fixtures/pytorch/torch_behaviour_mha_fully_masked_rows.json';
import alibiCausal from '../../../fixtures/variants/alibi_causal.json';
import alibiNonPowerOfTwo from '../../../fixtures/variants/alibi_non_power_of_two.json';
import attentionSinksGptoss from '../../../fixtures/variants/attention_sinks_gptoss.json';
import documentMaskCausal from '../../../fixtures/variants/document_mask_causal.json';
import gemma2SoftcapBlock from '../../../fixtures/variants/gemma2_softcap_block.json';
import linearAttentionElu from '../../../fixtures/variants/linear_attention_elu.json';
import linearAttentionEluCausal from '../../../fixtures/variants/linear_attention_elu_causal.json';
import llamaAttentionBlock from '../../../fixtures/variants/llama_attention_block.json';
import localWindowBidirectional from '../../../fixtures/variants/local_window_bidirectional.json';
import luongLocalM from '../../../fixtures/variants/luong_local_m.json';
import luongLocalMGaussian from '../../../fixtures/variants/luong_local_m_gaussian.json';
import luongLocalP from '../../../fixtures/variants/luong_local_p.json';
import mistralSlidingWindowBlock from '../../../fixtures/variants/mistral_sliding_window_block.json';
import ropeDecodeOffset from '../../../fixtures/variants/rope_decode_offset.json';
import ropeInterleaved from '../../../fixtures/variants/rope_interleaved.json';
import ropeRotateHalf from '../../../fixtures/variants/rope_rotate_half.json';
import slidingWindowCausal from '../../../fixtures/variants/sliding_window_causal.json';
import softcapGemma2 from '../../../fixtures/variants/softcap_gemma2.json';
import t5RelativeBiasBidirectional from '../../../fixtures/variants/t5_relative_bias_bidirectional.json';
import t5RelativeBiasCausal from '../../../fixtures/variants/t5_relative_bias_causal.json';
import { compare, type FixtureRule } from './compare';
import type { RouteCheck, RouteRefusal } from './browser/route-result';

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
  readonly tolerance?: { readonly float32_implementation?: FixtureRule };
}

/** The fixtures' float32 rule where a file states none (torch_behaviour_mha_fully_masked_rows): fixtures/pytorch/README.md. */
const FLOAT32_RULE: FixtureRule = { rtol: 1e-4, atol: 1e-5 };

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
  /** The float32 rule of the fixture being checked (set by each FIXTURE_RUNS entry). */
  rule: FixtureRule = FLOAT32_RULE;

  private async check(name: string, gpu: Tensor, reference: StoredTensor): Promise<void> {
    this.devices.add(gpu.device);
    this.checks.push(compare(`fixture ${name}`, await gpu.read(), gpu.shape, reference.data.map(Number), reference.shape, this.rule));
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
      this.checks.push(
        compare(`fixture ${name} grad ${torchName}`, stacked, reference.shape, reference.data.map(Number), reference.shape, this.rule),
      );
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
        this.checks.push(
          compare(`fixture ${name} grad ${param}`, byBucket, reference.shape, reference.data.map(Number), reference.shape, this.rule),
        );
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

  /** A value PyTorch computed (not stored in the fixture's tensors), compared as a check. */
  private async checkValues(name: string, gpu: Tensor, reference: ArrayLike<number>, shape: readonly number[]): Promise<void> {
    this.devices.add(gpu.device);
    this.checks.push(compare(`fixture ${name}`, await gpu.read(), gpu.shape, reference, shape, this.rule));
  }

  /** Every stored parameter gradient, the parameter found by PyTorch's name in `named`. */
  private async checkParameterGradients(f: StoredFixture, named: Map<string, Tensor>, label = ''): Promise<void> {
    for (const [name, reference] of Object.entries(f.grads?.params ?? {})) {
      const parameter = named.get(name);
      if (!parameter?.grad) throw new Error(`${f.name}: no gradient for the parameter '${name}'`);
      await this.check(`${f.name}${label} grad ${name}`, parameter.grad, reference);
    }
  }

  /**
   * A scorer_attention fixture (luong_*, bahdanau_additive, cosine_attention) as fixtures/check-scorer-fixture.ts runs
   * it on the CPU: the scorer's PyTorch parameters on the GPU, softmax(score(q, k)) · v, every output and gradient.
   */
  async scorer(f: StoredFixture, scorer: Scorer): Promise<void> {
    scorer.loadStateDict(Object.fromEntries(Object.entries(f.params).map(([name, t]) => [name, host(t)])));
    await scorer.toDevice('webgpu');
    const [query, keys, values] = [await onGpu(f.inputs.query!), await onGpu(f.inputs.key!), await onGpu(f.inputs.value!)]; // [B, Lq, dq], [B, Lk, dk], [B, Lk, dv]
    const scores = scorer.score(query, keys); // [B, Lq, Lk]
    const weights = softmax(scores, -1); // [B, Lq, Lk]
    const context = matmul(weights, values); // [B, Lq, Lk] x [B, Lk, dv] -> [B, Lq, dv]
    await this.check(`${f.name} scores`, scores, f.outputs.scores!);
    await this.check(`${f.name} attn_weights`, weights, f.outputs.attn_weights!);
    await this.check(`${f.name} context`, context, f.outputs.context!);
    sum(mul(context, await toDevice(host(f.grad_outputs!.context!), 'webgpu'))).backward();
    const inputs: Record<string, Tensor> = { query, key: keys, value: values };
    for (const [name, reference] of Object.entries(f.grads!.inputs!))
      await this.check(`${f.name} grad ${name}`, inputs[name]!.grad!, reference);
    await this.checkParameterGradients(f, new Map(scorer.namedParameters()));
  }

  /**
   * torch_behaviour_mha_fully_masked_rows: PyTorch gives NaN rows (and NaN gradients) where every key is masked; heed
   * gives zero weights there (output = out_proj.bias) and PyTorch's numbers in every other row, with finite gradients,
   * none flowing from the masked rows. One scenario per mask spelling PyTorch stored.
   */
  async fullyMaskedRows(f: StoredFixture): Promise<void> {
    const observed = (f as unknown as { observed: { attn_output: StoredTensor; attn_weights: StoredTensor }[] }).observed;
    const [B, L, E] = f.inputs.x!.shape as [number, number, number];
    const outputBias = f.params['out_proj.bias']!.data.map(Number); // [E]
    const scenarios: [string, MultiHeadForwardOptions, number, (b: number, i: number) => boolean][] = [
      ['keyPaddingMask', { keyPaddingMask: keepMask(f.inputs.key_padding_mask!) }, 0, (b) => b === 0],
      ['attentionMask', { attentionMask: keepMask(f.inputs.attn_mask!) }, 3, (_, i) => i === 0],
      ['additiveMask', { additiveMask: host(f.inputs.attn_mask_additive!) }, 4, (_, i) => i === 0],
    ];
    for (const [label, options, scenario, fullyMasked] of scenarios) {
      const layer = new MultiHeadAttention({ embedDim: f.config.embed_dim as number, numHeads: f.config.num_heads as number });
      layer.loadTorchStateDict(Object.fromEntries(Object.entries(f.params).map(([name, t]) => [name, host(t)])));
      await layer.toDevice('webgpu');
      const x = await onGpu(f.inputs.x!); // [B, L, E]
      const { output, weights } = layer.forward(x, x, x, options); // [B, L, E], [B, L, L]
      const [outputs, averaged] = [observed[scenario]!.attn_output.data.map(Number), observed[scenario]!.attn_weights.data.map(Number)];
      const expectedOutput = outputs.map((value, n) =>
        fullyMasked(Math.floor(n / (L * E)), Math.floor(n / E) % L) ? outputBias[n % E]! : value,
      );
      const expectedWeights = averaged.map((value, n) => (fullyMasked(Math.floor(n / (L * L)), Math.floor(n / L) % L) ? 0 : value));
      const name = `${f.name} (${label})`;
      await this.checkValues(`${name} attn_output`, output, expectedOutput, [B, L, E]);
      await this.checkValues(`${name} attn_weights`, weights!, expectedWeights, [B, L, L]);
      sum(mul(output, await toDevice(host(f.grad_outputs!.attn_output!), 'webgpu'))).backward();
      const xGradient = await x.grad!.read();
      this.checks.push(finite(`fixture ${name} grad x finite`, xGradient));
      for (const [parameterName, parameter] of layer.namedParameters())
        this.checks.push(finite(`fixture ${name} grad ${parameterName} finite`, await parameter.grad!.read()));
      // The one gradient PyTorch left finite: out_proj.bias's, Σ over the B·L rows of the upstream gradient [E].
      const upstream = f.grad_outputs!.attn_output!.data.map(Number); // [B, L, E]
      const biasGradient = Array.from({ length: E }, (_, e) => upstream.reduce((total, g, n) => (n % E === e ? total + g : total), 0));
      await this.checkValues(
        `${name} grad out_proj.bias`,
        new Map(layer.namedParameters()).get('outputProjection.bias')!.grad!,
        biasGradient,
        [E],
      );
      if (label === 'keyPaddingMask') {
        // batch element 0 is only the output bias: no gradient reaches its inputs
        const rows = xGradient.subarray(0, L * E);
        this.checks.push(
          compare(`fixture ${name} grad x of the masked batch element`, rows, [L, E], new Float32Array(L * E), [L, E], this.rule),
        );
      }
    }
  }

  /**
   * A rope_* fixture as the CPU runs it (RotaryScorer in attend, a bottom-right causal mask, fused and plain): q_rot and
   * k_rot from applyRotaryEmbedding, the weights, the output and the gradients of q, k, v.
   */
  async rope(f: StoredFixture): Promise<void> {
    const base = f.config.base as number;
    const style = f.config.rope_convention === 'interleaved' ? 'interleaved' : 'rotate-half';
    const [queryPositions, keyPositions] = [f.config.q_positions as number[], f.config.k_positions as number[]];
    const [q, k] = [await onGpu(f.inputs.q!), await onGpu(f.inputs.k!)]; // [B, H, Lq, d], [B, H, Lk, d]
    await this.check(`${f.name} q_rot`, applyRotaryEmbedding(q, { base, style, positions: queryPositions }), f.outputs.q_rot!); // [B, H, Lq, d]
    await this.check(`${f.name} k_rot`, applyRotaryEmbedding(k, { base, style, positions: keyPositions }), f.outputs.k_rot!); // [B, H, Lk, d]
    const [Lq, Lk] = [q.shape[2]!, k.shape[2]!];
    const offset = queryPositions[0]!; // queries at P … P + Lq − 1 over keys 0 … Lk − 1: P = Lk − Lq
    const scorer = new RotaryScorer({ base, style, queryPositionOffset: offset === 0 ? 0 : 'bottom-right' });
    const attentionMask = causalMask(Lq, Lk, { align: 'bottom-right' }); // [Lq, Lk]
    await this.attendParts(f, async () => ({ options: { scorer, attentionMask }, params: {} }));
  }

  /**
   * A Hugging Face attention block (llama_attention_block, mistral_sliding_window_block, gemma2_softcap_block) as
   * LlamaAttention with the fixture's weights on the GPU: the output, the weights, the gradients of x and every weight.
   */
  async llamaBlock(f: StoredFixture): Promise<void> {
    const c = f.config;
    const options: LlamaAttentionOptions = {
      embedDim: c.hidden_size as number,
      numHeads: c.num_attention_heads as number,
      numKeyValueHeads: c.num_key_value_heads as number,
      headDim: c.head_dim as number,
      ropeBase: c.rope_theta as number,
      ropeStyle: c.rope_convention === 'interleaved' ? 'interleaved' : 'rotate-half',
    };
    if (typeof c.sliding_window === 'number') options.slidingWindow = c.sliding_window;
    if (typeof c.attn_logit_softcapping === 'number') options.softcap = c.attn_logit_softcapping;
    if (typeof c.query_pre_attn_scalar === 'number') options.queryPreAttentionScalar = c.query_pre_attn_scalar;
    const layer = new LlamaAttention(options);
    layer.loadHuggingFaceStateDict(Object.fromEntries(Object.entries(f.params).map(([name, t]) => [name, host(t)])));
    await layer.toDevice('webgpu');
    const x = await onGpu(f.inputs.x!); // [B, L, E]
    const { output, weights } = layer.forward(x); // [B, L, E], [B, H, L, L]
    await this.check(`${f.name} attn_output`, output, f.outputs.attn_output!);
    await this.check(`${f.name} attn_weights`, weights, f.outputs.attn_weights!);
    sum(mul(output, await toDevice(host(f.grad_outputs!.attn_output!), 'webgpu'))).backward();
    await this.check(`${f.name} grad x`, x.grad!, f.grads!.inputs!.x!);
    const own = new Map(layer.namedParameters());
    const byTorchName = new Map<string, Tensor>(
      [
        ['q_proj.weight', 'queryProjection.weight'],
        ['k_proj.weight', 'keyProjection.weight'],
        ['v_proj.weight', 'valueProjection.weight'],
        ['o_proj.weight', 'outputProjection.weight'],
      ].map(([torchName, heedName]) => [torchName!, own.get(heedName!)!]),
    );
    await this.checkParameterGradients(f, byTorchName);
  }

  /**
   * linear_attention_elu(_causal): linearAttention and linearAttentionWeights on the GPU, the output, the implied
   * weights and the gradients of q, k, v.
   */
  async linearAttention(f: StoredFixture): Promise<void> {
    const causal = f.config.causal === true;
    const [q, k, v] = [await onGpu(f.inputs.q!), await onGpu(f.inputs.k!), await onGpu(f.inputs.v!)]; // [B, H, L, d], [B, H, L, d], [B, H, L, dv]
    const output = linearAttention(q, k, v, { causal }); // [B, H, L, dv]
    await this.check(`${f.name} output`, output, f.outputs.output!);
    await this.check(`${f.name} attn_weights`, linearAttentionWeights(q, k, { causal }), f.outputs.attn_weights!); // [B, H, L, L]
    sum(mul(output, await toDevice(host(f.grad_outputs!.output!), 'webgpu'))).backward();
    const inputs: Record<string, Tensor> = { q, k, v };
    for (const [name, reference] of Object.entries(f.grads!.inputs!))
      await this.check(`${f.name} grad ${name}`, inputs[name]!.grad!, reference);
  }

  /**
   * luong_local_*: LuongLocalAttention with the fixture's weights on the GPU: the window bounds exactly, the positions
   * (local-p), align, the weights, the context and the gradients of h, hs and every weight.
   */
  async luongLocal(f: StoredFixture): Promise<void> {
    const mode = f.config.mode as 'local-m' | 'local-p';
    const layer = new LuongLocalAttention({
      dim: f.config.d as number,
      mode,
      window: f.config.D as number,
      gaussian: f.config.gaussian === true,
      ...(mode === 'local-p' ? { predictorDim: f.config.d_p as number } : {}),
    });
    layer.loadTorchStateDict(Object.fromEntries(Object.entries(f.params).map(([name, t]) => [name, host(t)])));
    await layer.toDevice('webgpu');
    const [h, hs] = [await onGpu(f.inputs.h!), await onGpu(f.inputs.hs!)]; // [B, T, d], [B, S, d]
    const result = layer.forward(h, hs);
    // integers: compared exactly (an error of 0 is the only one under any tolerance of a window bound)
    await this.check(`${f.name} window_start`, result.windowStart, f.outputs.window_start!);
    await this.check(`${f.name} window_end`, result.windowEnd, f.outputs.window_end!);
    if (f.outputs.p) await this.check(`${f.name} p`, result.positions, f.outputs.p);
    if (f.outputs.align) await this.check(`${f.name} align`, result.align, f.outputs.align);
    await this.check(`${f.name} attn_weights`, result.weights, f.outputs.attn_weights!);
    await this.check(`${f.name} context`, result.context, f.outputs.context!);
    sum(mul(result.context, await toDevice(host(f.grad_outputs!.context!), 'webgpu'))).backward();
    await this.check(`${f.name} grad h`, h.grad!, f.grads!.inputs!.h!);
    await this.check(`${f.name} grad hs`, hs.grad!, f.grads!.inputs!.hs!);
    const own = new Map(layer.namedParameters());
    const byTorchName = new Map<string, Tensor>();
    for (const [torchName, heedName] of [
      ['W_a.weight', 'scoreProjection.weight'],
      ['W_p.weight', 'positionProjection.weight'],
      ['v_p', 'positionVector'],
    ] as const) {
      const parameter = own.get(heedName);
      if (parameter) byTorchName.set(torchName, parameter);
    }
    await this.checkParameterGradients(f, byTorchName);
  }

  /**
   * A fixtures/variants one through attend() with heed's parts for it (a BiasedScorer, SoftcapScorer, SoftmaxWithSinks,
   * a keep rule: `parts`, their parameters moved to the GPU), on the fused path and on the plain one: the weights, the
   * output and the gradients of q, k, v and of every parameter PyTorch stored (by its name in `params`).
   */
  async attendParts(
    f: StoredFixture,
    parts: (H: number) => Promise<{ options: Omit<AttendOptions, 'query' | 'keys' | 'values'>; params: Record<string, Tensor> }>,
  ): Promise<void> {
    for (const implementation of ['fused', 'plain'] as const) {
      const [q, k, v] = [await onGpu(f.inputs.q!), await onGpu(f.inputs.k!), await onGpu(f.inputs.v!)]; // [B, H, Lq, d], [B, H, Lk, d], [B, H, Lk, dv]
      const { options, params } = await parts(q.shape[1]!);
      const name = `${f.name} (attend, ${implementation})`;
      const { context, weights } = attend({ query: q, keys: k, values: v, ...options, implementation, needWeights: true }); // [B, H, Lq, dv], [B, H, Lq, Lk]
      await this.check(`${name} attn_weights`, weights, f.outputs.attn_weights!);
      await this.check(`${name} output`, context, f.outputs.output!);
      sum(mul(context, await toDevice(host(f.grad_outputs!.output!), 'webgpu'))).backward();
      const inputs: Record<string, Tensor> = { q, k, v };
      for (const [input, reference] of Object.entries(f.grads!.inputs!))
        await this.check(`${name} grad ${input}`, inputs[input]!.grad!, reference);
      await this.checkParameterGradients(f, new Map(Object.entries(params)), ` (attend, ${implementation})`);
    }
  }

  /** Every entry of FIXTURE_RUNS, in order (the browser page: one page load for all). */
  async runAll(): Promise<void> {
    for (const entry of FIXTURE_RUNS) await entry.run(this);
  }
}

/** One fixture's checks: the Node route runs each as a test, the browser page runs them all. */
export interface FixtureRun {
  /** The fixture's name (its file in fixtures/pytorch or fixtures/variants, without .json). */
  readonly fixture: string;
  run(checks: FixtureChecks): Promise<void>;
}

const stored = (f: unknown) => f as StoredFixture;
const number = (f: StoredFixture, key: string) => f.config[key] as number;
const runOf = (f: unknown, run: (checks: FixtureChecks, f: StoredFixture) => Promise<void>): FixtureRun => ({
  fixture: stored(f).name,
  run: (checks) => {
    checks.rule = stored(f).tolerance?.float32_implementation ?? FLOAT32_RULE;
    return run(checks, stored(f));
  },
});

/**
 * Every fixture of fixtures/pytorch and fixtures/variants but the normalizer ones (sparsemax*, entmax*, Gumbel-softmax),
 * each mask in the ways heed spells it.
 */
export const FIXTURE_RUNS: readonly FixtureRun[] = [
  ...[sdpaNoMask, sdpaCausal, sdpaCustomScale, sdpaKeyPaddingMask, sdpaLargeLogitsOffset, sdpaLargeLogitsScaled].map((f) =>
    runOf(f, (checks, f) => checks.sdpa(f)),
  ),
  runOf(luongDot, (checks, f) => checks.scorer(f, new DotScorer())),
  runOf(luongGeneral, (checks, f) => checks.scorer(f, new GeneralScorer({ queryDim: number(f, 'dq'), keyDim: number(f, 'dk') }))),
  runOf(luongConcat, (checks, f) =>
    checks.scorer(f, new ConcatScorer({ queryDim: number(f, 'dq'), keyDim: number(f, 'dk'), hiddenDim: number(f, 'A') })),
  ),
  runOf(bahdanauAdditive, (checks, f) =>
    checks.scorer(f, new AdditiveScorer({ queryDim: number(f, 'dq'), keyDim: number(f, 'dk'), hiddenDim: number(f, 'A') })),
  ),
  runOf(cosineAttention, (checks, f) => checks.scorer(f, new CosineScorer({ temperature: number(f, 'temperature') }))),
  runOf(mhaSelfAttention, (checks, f) => checks.mha(f)),
  runOf(mhaCrossKdimVdim, (checks, f) => checks.mha(f)),
  runOf(mhaNoBias, (checks, f) => checks.mha(f)),
  runOf(mhaCausal, async (checks, f) => {
    await checks.mha(f, { causal: true }, ' (causal: true)');
    await checks.mha(f, { attentionMask: keepMask(f.inputs.attn_mask!) }, ' (keep-mask)');
  }),
  runOf(mhaKeyPaddingAndAttnMask, async (checks, f) => {
    const [keyPadding, attention] = [f.inputs.key_padding_mask!, f.inputs.attn_mask!];
    await checks.mha(f, { keyPaddingMask: keepMask(keyPadding), attentionMask: keepMask(attention) }, ' (keep-masks)');
    // Both of its masks as one keep-mask [B, Lq, Lk].
    const [Lq, Lk] = attention.shape as [number, number];
    const B = keyPadding.shape[0]!;
    const keep = Array.from({ length: B * Lq * Lk }, (_, i) => {
      const [b, q, k] = [Math.floor(i / (Lq * Lk)), Math.floor(i / Lk) % Lq, i % Lk];
      return Number(attention.data[q * Lk + k]) || Number(keyPadding.data[b * Lk + k]) ? 0 : 1;
    });
    await checks.mha(f, { attentionMask: new Tensor(Float32Array.from(keep), [B, Lq, Lk]) }, ' (one keep-mask)');
  }),
  runOf(torchBehaviourMhaFullyMaskedRows, (checks, f) => checks.fullyMaskedRows(f)),
  ...[ropeRotateHalf, ropeInterleaved, ropeDecodeOffset].map((f) => runOf(f, (checks, f) => checks.rope(f))),
  ...[alibiCausal, alibiNonPowerOfTwo].map((f) =>
    runOf(f, async (checks, f) => {
      await checks.variant(f, async () => ({ causal: true, alibiSlopes: f.config.slopes as number[] }));
      await checks.attendParts(f, async (H) => ({
        options: { scorer: new BiasedScorer(new AlibiBias(H)), causal: f.config.causal === true },
        params: {},
      }));
    }),
  ),
  ...[t5RelativeBiasBidirectional, t5RelativeBiasCausal].map((f) =>
    runOf(f, async (checks, f) => {
      await checks.t5(f);
      await checks.attendParts(f, async (H) => {
        const bias = new RelativePositionBias({
          numHeads: H,
          bidirectional: f.config.bidirectional === true,
          numBuckets: number(f, 'num_buckets'),
          maxDistance: number(f, 'max_distance'),
        });
        bias.loadStateDict({ relative_attention_bias: host(f.params.relative_attention_bias!) });
        await bias.toDevice('webgpu');
        const scorer = new BiasedScorer(bias, { inner: new DotScorer() });
        return { options: { scorer, causal: f.config.causal === true }, params: { relative_attention_bias: bias.relative_attention_bias } };
      });
    }),
  ),
  runOf(slidingWindowCausal, async (checks, f) => {
    await checks.variant(f, async () => ({ causal: true, windowStart: 1 - number(f, 'W') }), ' (windowStart)');
    await checks.variant(f, async () => ({ attentionMask: keepMask(f.inputs.attn_mask!) }), ' (keep-mask)');
  }),
  runOf(localWindowBidirectional, async (checks, f) => {
    await checks.variant(f, async () => ({ causal: { offset: number(f, 'w') }, windowStart: -number(f, 'w') }), ' (windowStart)');
    await checks.variant(f, async () => ({ attentionMask: keepMask(f.inputs.attn_mask!) }), ' (keep-mask)');
  }),
  runOf(softcapGemma2, async (checks, f) => {
    await checks.variant(f, async () => ({ causal: true, softcap: number(f, 'cap') }));
    await checks.attendParts(f, async () => ({
      options: { scorer: new SoftcapScorer(number(f, 'cap'), { inner: new ScaledDotScorer() }), causal: f.config.causal === true },
      params: {},
    }));
  }),
  runOf(attentionSinksGptoss, async (checks, f) => {
    await checks.variant(f, async () => {
      const [B, Lk] = f.inputs.key_padding_mask!.shape as [number, number];
      const attentionMask = reshape(keepMask(f.inputs.key_padding_mask!), [B, 1, 1, Lk]); // [B, 1, 1, Lk]
      return { causal: true, sinks: await onGpu(f.params.sinks!), attentionMask }; // sinks [H]
    });
    await checks.attendParts(f, async (H) => {
      const normalizer = new SoftmaxWithSinks({ numHeads: H });
      normalizer.loadStateDict({ sinks: host(f.params.sinks!) });
      await normalizer.toDevice('webgpu');
      const keyPaddingMask = keepMask(f.inputs.key_padding_mask!); // [B, Lk], 1 = a real key
      return { options: { normalizer, causal: f.config.causal === true, keyPaddingMask }, params: { sinks: normalizer.sinks } };
    });
  }),
  runOf(documentMaskCausal, async (checks, f) => {
    const segments = Int32Array.from((f.config.segment_ids as number[][]).flat()); // [B, L] flattened
    await checks.variant(f, async () => ({ causal: true, querySegments: segments, keySegments: segments }), ' (segments)');
    await checks.variant(
      f,
      async () => ({ attentionMask: reshape(keepMask(f.inputs.attn_mask!), [number(f, 'B'), 1, number(f, 'L'), number(f, 'L')]) }), // [B, 1, L, L]
      ' (keep-mask)',
    );
    const rule = new SegmentRule(f.config.segment_ids as number[][]);
    await checks.attendParts(f, async () => ({
      options: { keepRule: f.config.causal === true ? rule.and(new CausalRule()) : rule },
      params: {},
    }));
  }),
  ...[luongLocalP, luongLocalM, luongLocalMGaussian].map((f) => runOf(f, (checks, f) => checks.luongLocal(f))),
  ...[linearAttentionElu, linearAttentionEluCausal].map((f) => runOf(f, (checks, f) => checks.linearAttention(f))),
  ...[llamaAttentionBlock, mistralSlidingWindowBlock, gemma2SoftcapBlock].map((f) => runOf(f, (checks, f) => checks.llamaBlock(f))),
];

/** A check that every value is finite (for gradients PyTorch stored only as NaN: nothing to compare them with). */
function finite(name: string, values: Float32Array): RouteCheck {
  const nonFinite = values.reduce((count, value) => count + (Number.isFinite(value) ? 0 : 1), 0);
  return { name, size: values.length, maxError: 0, maxAbsError: 0, nonFinite, sameShape: true };
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
