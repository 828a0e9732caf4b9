import { MultiHeadAttention } from '@heed/multi-head';
import { Adam, dropout, mseLoss, mul, randn, Rng, sum, Tensor, toDevice } from '@heed/tensor';
import { alphaEntmax, attend, entmax15, GumbelSoftmax, sparsemax, straightThroughGumbelSoftmax } from '@heed/soft-attention';
import { beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../test/test-backend';

// Shape letters: R rows, n entries per row.
// Sparsemax, entmax15 and α-entmax on GPU tensors (the entmax kernel: bisection in float32, exact thresholds for
// α = 2 and 1.5), against a naive float64 reference written here (bisection on τ to adjacent doubles, no sorting) and
// against finite differences of that reference. Tolerances: forward 1e-6 + 1e-5·|ref| (heed's contract with PyTorch's
// float64), gradients 1e-5 + 1e-4·|ref|.
const FORWARD = { atol: 1e-6, rtol: 1e-5 };
const GRADIENT = { atol: 1e-5, rtol: 1e-4 };

beforeAll(async () => {
  await testBackend();
});

/** α-entmax of one row in float64: bisection on τ over [−1, 0] in the (α−1)(z − max z) scale, 200 halvings. */
function referenceRow(z: readonly number[], alpha: number): number[] {
  if (z.some((v) => v === Infinity)) {
    const k = z.filter((v) => v === Infinity).length;
    return z.map((v) => (v === Infinity ? 1 / k : 0));
  }
  const kept = z.filter((v) => v > -Infinity);
  if (kept.length === 0) return z.map(() => 0);
  const top = Math.max(...kept);
  const x = z.map((v) => (v === -Infinity ? -Infinity : (alpha - 1) * (v - top)));
  const mass = (t: number) => x.reduce((total, xi) => total + (xi > t ? (xi - t) ** (1 / (alpha - 1)) : 0), 0);
  let [lo, hi] = [-1, 0];
  for (let step = 0; step < 200; step++) {
    const mid = (lo + hi) / 2;
    if (mass(mid) >= 1) lo = mid;
    else hi = mid;
  }
  return x.map((xi) => (xi > lo ? (xi - lo) ** (1 / (alpha - 1)) : 0));
}

/** The reference over every row of z [R, n] (flat). */
function reference(z: ArrayLike<number>, n: number, alpha: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < z.length / n; r++) out.push(...referenceRow(Array.from(z).slice(r * n, (r + 1) * n), alpha));
  return out;
}

/** Largest |got − ref| − rtol·|ref| (≤ atol passes), and whether any value is NaN. */
function worst(got: ArrayLike<number>, ref: ArrayLike<number>, rtol: number): number {
  let excess = 0;
  for (let i = 0; i < ref.length; i++) {
    const error = Math.abs(got[i]! - ref[i]!) - rtol * Math.abs(ref[i]!);
    if (!(error <= excess)) excess = Number.isNaN(error) ? Infinity : error;
  }
  return excess;
}

function expectNear(got: ArrayLike<number>, ref: ArrayLike<number>, tolerance: { atol: number; rtol: number }, label: string): void {
  expect(got.length, label).toBe(ref.length);
  expect(worst(got, ref, tolerance.rtol), label).toBeLessThanOrEqual(tolerance.atol);
}

const NEG = -Infinity;
/** Rows of five: ties in and out of the support, ties exactly at the threshold, masks, large and tiny values. */
const EDGE_ROWS = [
  [1, 1, 0.5, -1, -2], // a tie inside the support
  [1, 0, 0, 0, -3], // sparsemax: zeros exactly at τ
  [0.3, 0.3, 0.3, 0.3, 0.3], // all equal
  [2, 1.25, 1.25, 1.25, -4], // a tie that straddles the threshold for some α
  [1e4, 1e4 - 0.5, 1e4 - 1, 9990, -1e4], // large magnitude
  [-50, -50.25, -51, -60, -52], // all negative
  [NEG, 0.2, NEG, 0.1, 0.15], // masked entries
  [NEG, NEG, NEG, NEG, NEG], // fully masked
  [NEG, NEG, 3, NEG, NEG], // one key left
  [1e-7, 0, -1e-7, 2e-7, 0], // differences at float32's resolution
];

/** Normal values (scaled) with a masked stretch, [R, n]. */
function longRows(rows: number, n: number, rng: Rng, scale: number): Float32Array {
  const z = randn([rows, n], rng).data.map((v) => v * scale);
  for (let j = 5; j < n; j += 7) z[j] = -Infinity;
  return z;
}

const NORMALIZERS = [
  { name: 'sparsemax', alpha: 2, apply: (z: Tensor) => sparsemax(z) },
  { name: 'entmax15', alpha: 1.5, apply: (z: Tensor) => entmax15(z) },
  { name: 'alphaEntmax(1.25)', alpha: 1.25, apply: (z: Tensor) => alphaEntmax(z, 1.25) },
  { name: 'alphaEntmax(1.75)', alpha: 1.75, apply: (z: Tensor) => alphaEntmax(z, 1.75) },
  { name: 'alphaEntmax(3)', alpha: 3, apply: (z: Tensor) => alphaEntmax(z, 3) },
  { name: 'alphaEntmax(1.5)', alpha: 1.5, apply: (z: Tensor) => alphaEntmax(z, 1.5) },
  { name: 'alphaEntmax(2)', alpha: 2, apply: (z: Tensor) => alphaEntmax(z, 2) },
];

/** out = normalizer(z) on the GPU and the gradient of Σ out ⊙ upstream, both read back. */
async function onGpu(apply: (z: Tensor) => Tensor, z: Float32Array, shape: number[], upstream: Float32Array) {
  const leaf = await toDevice(new Tensor(z, shape), 'webgpu');
  leaf.requiresGrad = true;
  const out = apply(leaf);
  expect(out.device).toBe('webgpu');
  expect(out.shape).toEqual(shape);
  sum(mul(out, await toDevice(new Tensor(upstream, shape), 'webgpu'))).backward();
  return { output: await out.read(), grad: await leaf.grad!.read() };
}

/** dL/dz of L = Σ p ⊙ upstream from the reference p (closed form on the support, s = p^{2−α}). */
function referenceGrad(p: readonly number[], upstream: ArrayLike<number>, n: number, alpha: number): number[] {
  const dz: number[] = [];
  for (let r = 0; r < p.length / n; r++) {
    const s = p.slice(r * n, (r + 1) * n).map((pi) => (pi > 0 ? pi ** (2 - alpha) : 0));
    const sTotal = s.reduce((a, b) => a + b, 0);
    const sg = s.reduce((a, si, i) => a + si * upstream[r * n + i]!, 0);
    for (let i = 0; i < n; i++) dz.push(sTotal > 0 ? s[i]! * (upstream[r * n + i]! - sg / sTotal) : 0);
  }
  return dz;
}

describe('sparsemax and α-entmax on WebGPU tensors equal a float64 reference', () => {
  for (const { name, alpha, apply } of NORMALIZERS) {
    it(`${name}: edge rows (ties, thresholds, masks, large values), output and gradient`, async () => {
      const n = 5;
      const z = Float32Array.from(EDGE_ROWS.flat());
      const upstream = randn([EDGE_ROWS.length, n], new Rng(3)).data;
      const { output, grad } = await onGpu(apply, z, [EDGE_ROWS.length, n], upstream);
      const p = reference(z, n, alpha);
      expectNear(output, p, FORWARD, `${name} output`);
      expectNear(grad, referenceGrad(p, upstream, n, alpha), GRADIENT, `${name} gradient`);
      // Masked entries and a fully masked row are exactly 0, with no gradient.
      for (let i = 0; i < z.length; i++) if (z[i] === NEG) expect([output[i], grad[i]]).toEqual([0, 0]);
      expect(Array.from(output.subarray(7 * n, 8 * n))).toEqual([0, 0, 0, 0, 0]);
      expect(Array.from(grad.subarray(7 * n, 8 * n))).toEqual([0, 0, 0, 0, 0]);
    });

    it(`${name}: rows longer than a workgroup (n = 300, 1000), [2, 3, n] leading dims`, async () => {
      const rng = new Rng(alpha * 100);
      for (const n of [300, 1000]) {
        const z = longRows(6, n, rng, 2);
        const upstream = randn([6, n], rng).data;
        const { output, grad } = await onGpu(apply, z, [2, 3, n], upstream);
        const p = reference(z, n, alpha);
        expectNear(output, p, FORWARD, `${name} n = ${n} output`);
        expect(p.filter((pi, i) => pi === 0 && output[i] !== 0).length, 'exact zeros off the support').toBe(0);
        for (let r = 0; r < 6; r++) expect(output.subarray(r * n, (r + 1) * n).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        expectNear(grad, referenceGrad(p, upstream, n, alpha), GRADIENT, `${name} n = ${n} gradient`);
      }
    });
  }

  it('the gradient equals central finite differences of the float64 reference (rows away from kinks)', async () => {
    const rng = new Rng(17);
    const [rows, n] = [4, 9];
    const z = randn([rows, n], rng).data.map((v) => 0.1 * v); // small logits: supports of several entries for every α
    const upstream = randn([rows, n], rng).data;
    for (const { name, alpha, apply } of NORMALIZERS) {
      const { grad } = await onGpu(apply, z, [rows, n], upstream);
      const loss = (values: Float64Array) => reference(values, n, alpha).reduce((a, p, i) => a + p * upstream[i]!, 0);
      const h = 1e-6;
      const difference: number[] = [];
      for (let i = 0; i < z.length; i++) {
        const [plus, minus] = [Float64Array.from(z), Float64Array.from(z)];
        plus[i]! += h;
        minus[i]! -= h;
        difference.push((loss(plus) - loss(minus)) / (2 * h));
      }
      expect(reference(z, n, alpha).filter((p) => p > 0).length, `${name} support`).toBeGreaterThan(2 * rows);
      expectNear(grad, difference, GRADIENT, `${name} finite differences`);
    }
  });

  it('rows of +∞ share 1 equally among their +∞ entries, as on the CPU', async () => {
    const z = Float32Array.from([Infinity, 0, Infinity, -1, 2, Infinity, NEG, 1]); // [2, 4]
    for (const { name, apply } of NORMALIZERS.slice(0, 2)) {
      const cpu = apply(new Tensor(z, [2, 4]));
      const { output } = await onGpu(apply, z, [2, 4], new Float32Array(8).fill(1));
      expect(Array.from(output), name).toEqual(Array.from(cpu.data));
    }
  });

  it('the normalizers in attend (sparsemax, entmax15 with a temperature, alpha-entmax), causal: the GPU equals the CPU', async () => {
    const rng = new Rng(5);
    const [q, k, v] = [randn([2, 3, 4], rng), randn([2, 6, 4], rng), randn([2, 6, 3], rng)];
    const [gq, gk, gv] = await Promise.all([q, k, v].map((t) => toDevice(t, 'webgpu')));
    for (const normalizer of [{ kind: 'sparsemax' }, { kind: 'entmax15', temperature: 0.5 }, { kind: 'alpha-entmax', alpha: 1.25 }]) {
      const cpu = attend({ query: q, keys: k, values: v, normalizer, causal: true });
      const gpu = attend({ query: gq!, keys: gk!, values: gv!, normalizer, causal: true });
      expect(gpu.context.device).toBe('webgpu');
      expectNear(await gpu.weights!.read(), cpu.weights!.data, FORWARD, `${normalizer.kind} weights`);
      expectNear(await gpu.context.read(), cpu.context.data, FORWARD, `${normalizer.kind} context`);
    }
  });
});

describe('straight-through Gumbel-softmax and dropout on WebGPU tensors: the noise of the same generator', () => {
  it('Gumbel-softmax picks exactly the keys the CPU picks (same seed), with the same surrogate gradient', async () => {
    const [rows, n] = [40, 300];
    const logits = randn([rows, n], new Rng(8));
    for (let j = 0; j < n; j++) logits.data[3 * n + j] = -Infinity; // a fully masked row
    const upstream = randn([rows, n], new Rng(9));
    const cpuLeaf = new Tensor(logits.data.slice(), logits.shape, true);
    const cpu = straightThroughGumbelSoftmax(cpuLeaf, { temperature: 0.7, rng: new Rng(11) });
    sum(mul(cpu, upstream)).backward();
    const gpuLeaf = await toDevice(logits, 'webgpu');
    gpuLeaf.requiresGrad = true;
    const gpu = straightThroughGumbelSoftmax(gpuLeaf, { temperature: 0.7, rng: new Rng(11) });
    expect(gpu.device).toBe('webgpu');
    expect(Array.from(await gpu.read())).toEqual(Array.from(cpu.data)); // bit for bit
    expect(Array.from(cpu.data.subarray(3 * n, 4 * n)).every((w) => w === 0)).toBe(true);
    sum(mul(gpu, await toDevice(upstream, 'webgpu'))).backward();
    expectNear(await gpuLeaf.grad!.read(), cpuLeaf.grad!.data, GRADIENT, 'surrogate gradient');
  });

  it('the first maximum wins a tie, as on the CPU', async () => {
    const y = new Tensor(Float32Array.from([1, 3, 3, 0, NEG, 2, NEG, 2, ...new Array<number>(200).fill(5)]), [1, 208]);
    const noise = new Tensor(new Float32Array(208), [1, 208]);
    const cpu = straightThroughGumbelSoftmax(y, { noise });
    const gpu = straightThroughGumbelSoftmax(await toDevice(y, 'webgpu'), { noise: await toDevice(noise, 'webgpu') });
    expect(Array.from(await gpu.read())).toEqual(Array.from(cpu.data));
    expect((await gpu.read()).indexOf(1)).toBe(8);
  });

  it('dropout keeps exactly the elements the CPU keeps (same seed), and its gradient is the same mask', async () => {
    const x = randn([7, 300], new Rng(12));
    const cpuLeaf = new Tensor(x.data.slice(), x.shape, true);
    const cpu = dropout(cpuLeaf, 0.3, new Rng(13));
    sum(mul(cpu, 2)).backward();
    const gpuLeaf = await toDevice(x, 'webgpu');
    gpuLeaf.requiresGrad = true;
    const gpu = dropout(gpuLeaf, 0.3, new Rng(13));
    expect(gpu.device).toBe('webgpu');
    expect(Array.from(await gpu.read())).toEqual(Array.from(cpu.data)); // bit for bit: the mask and x ⊙ 1/(1 − p)
    sum(mul(gpu, 2)).backward();
    expect(Array.from(await gpuLeaf.grad!.read())).toEqual(Array.from(cpuLeaf.grad!.data));
  });

  it('attend with dropout, and with the GumbelSoftmax normalizer under a causal mask: the GPU equals the CPU, seeded', async () => {
    const rng = new Rng(14);
    const [q, k, v] = [randn([2, 5, 8], rng, { requiresGrad: true }), randn([2, 6, 8], rng), randn([2, 6, 3], rng)];
    const [gq, gk, gv] = await Promise.all([q, k, v].map((t) => toDevice(t, 'webgpu')));
    gq!.requiresGrad = true;
    const upstream = randn([2, 5, 3], rng);
    // Each call gets fresh generators of the same seeds: the CPU and the GPU draw the same sequence.
    const runs = [
      { label: 'dropout 0.25', options: () => ({ normalizer: { kind: 'softmax' }, dropout: 0.25, rng: new Rng(15) }) },
      { label: 'GumbelSoftmax', options: () => ({ normalizer: new GumbelSoftmax({ temperature: 0.5, rng: new Rng(16) }), causal: true }) },
    ];
    for (const { label, options } of runs) {
      q.grad = null;
      gq!.grad = null;
      const cpu = attend({ query: q, keys: k, values: v, ...options() });
      const gpu = attend({ query: gq!, keys: gk!, values: gv!, ...options() });
      expect(gpu.context.device, label).toBe('webgpu');
      expectNear(await gpu.context.read(), cpu.context.data, FORWARD, `${label} context`);
      sum(mul(cpu.context, upstream)).backward();
      sum(mul(gpu.context, await toDevice(upstream, 'webgpu'))).backward();
      expectNear(await gq!.grad!.read(), q.grad!.data, GRADIENT, `${label} grad query`);
    }
  });
});

describe('a MultiHeadAttention training step with a sparse normalizer and dropout on WebGPU equals the CPU one', () => {
  /** Two Adam steps of MHA (entmax15 weights, attention dropout 0.2, causal) on `device`, from the same seeds. */
  async function trainingSteps(device: 'cpu' | 'webgpu') {
    const rng = new Rng(22);
    // No projection biases: a bias shared by every key has a gradient of exactly 0 (rounding noise that Adam scales up).
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, bias: false, normalizer: { kind: 'entmax15' }, dropout: 0.2, rng });
    const x = randn([2, 6, 8], rng); // [B, L, E]
    const target = randn([2, 6, 8], rng); // [B, L, E]
    await layer.toDevice(device);
    const [input, wanted] = [await toDevice(x, device), await toDevice(target, device)];
    const optimizer = new Adam(layer.parameters(), { lr: 0.01 });
    const losses: number[] = [];
    for (let step = 0; step < 2; step++) {
      optimizer.zeroGrad();
      const { output } = layer.forward(input, input, input, { causal: true, needWeights: false }); // [B, L, E]
      const loss = mseLoss(output, wanted); // []
      loss.backward();
      optimizer.step();
      losses.push((await loss.read())[0]!);
    }
    const gradients = await Promise.all(layer.parameters().map((p) => p.grad!.read()));
    const parameters = await Promise.all(layer.parameters().map((p) => p.read()));
    return { losses, gradients, parameters, device: layer.parameters()[0]!.device };
  }

  it('losses, gradients and parameters after two Adam steps', async () => {
    const cpu = await trainingSteps('cpu');
    const gpu = await trainingSteps('webgpu');
    expect(gpu.device).toBe('webgpu');
    expectNear(gpu.losses, cpu.losses, FORWARD, 'losses');
    gpu.gradients.forEach((g, i) => expectNear(g, cpu.gradients[i]!, GRADIENT, `gradient ${i}`));
    gpu.parameters.forEach((p, i) => expectNear(p, cpu.parameters[i]!, FORWARD, `parameter ${i}`));
  });
});
