// Checks the relaxed-SIMD build (fused multiply-add) of the WebAssembly kernels, which Node 20 only
// runs with a flag: node --experimental-wasm-relaxed-simd scripts/check-relaxed-simd.mjs
// Reads the bytes from src/kernels/wasm/wasm-bytes.ts (no build needed), compares matmul (all four
// transpose flags, edge sizes), exp and the fused attention forward and backward against float64 references, and
// prints one JSON line: {"ok": true, ...} or {"ok": false, "failures": [...]}.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = readFileSync(fileURLToPath(new URL('../src/kernels/wasm/wasm-bytes.ts', import.meta.url)), 'utf8');
const base64 = (name) => [...source.split(`${name} =`)[1].split(';')[0].matchAll(/'([^']*)'/g)].map((x) => x[1]).join('');
const bytes = Buffer.from(base64('WASM_RELAXED_SIMD_BASE64'), 'base64');
if (!WebAssembly.validate(bytes)) {
  console.log(JSON.stringify({ ok: false, failures: ['relaxed build does not validate (run node with --experimental-wasm-relaxed-simd)'] }));
  process.exit(0);
}
const { instance } = await WebAssembly.instantiate(bytes, {});
const ex = instance.exports;
const failures = [];
const U = 2 ** -24;
let seed = 1;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;

function heap(bytesNeeded) {
  const have = ex.memory.buffer.byteLength;
  if (bytesNeeded > have) ex.memory.grow(Math.ceil((bytesNeeded - have) / 65536));
  return new Float32Array(ex.memory.buffer);
}
const align = (x) => Math.ceil(x / 64) * 64;

for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [17, 33, 65], [130, 257, 96], [7, 1030, 300]]) {
  for (const ta of [0, 1]) {
    for (const tb of [0, 1]) {
      const a = Float32Array.from({ length: m * k }, random);
      const b = Float32Array.from({ length: k * n }, random);
      const aAt = ex.heapBase();
      const bAt = align(aAt + a.length * 4);
      const cAt = align(bAt + b.length * 4);
      const wAt = align(cAt + m * n * 4);
      const f = heap(wAt + ex.matmulWorkBytes());
      f.set(a, aAt / 4);
      f.set(b, bAt / 4);
      ex.matmul(aAt, bAt, cAt, m, n, k, ta, tb, wAt);
      const c = new Float32Array(ex.memory.buffer, cAt, m * n);
      const gamma = (k * U) / (1 - k * U);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          let abs = 0;
          for (let p = 0; p < k; p++) {
            const x = (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
            s += x;
            abs += Math.abs(x);
          }
          if (!(Math.abs(c[i * n + j] - s) <= gamma * abs + U * Math.abs(s) + 1e-30)) {
            failures.push(`matmul ${m}×${n}×${k} ta=${ta} tb=${tb} [${i}, ${j}]: ${c[i * n + j]} vs ${s}`);
            i = m;
            break;
          }
        }
      }
    }
  }
}

{
  const count = 100001;
  const at = ex.heapBase();
  const f = heap(at + count * 4);
  for (let i = 0; i < count; i++) f[at / 4 + i] = -87 + (175 * i) / (count - 1);
  const x = f.slice(at / 4, at / 4 + count);
  ex.expInPlace(at, count);
  const y = new Float32Array(ex.memory.buffer, at, count);
  let worst = 0;
  for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(y[i] - Math.exp(x[i])) / Math.exp(x[i]));
  if (!(worst <= 1.2e-7)) failures.push(`exp: relative error ${worst}`);
}

{
  // One causal multi-head problem across key blocks: n = 3, Lq = 70, Lk = 300, d = 20, dv = 12.
  const [n, Lq, Lk, d, dv, offset] = [3, 70, 300, 20, 12, 230];
  const scale = 1 / Math.sqrt(d);
  const q = Float32Array.from({ length: n * Lq * d }, random);
  const k = Float32Array.from({ length: n * Lk * d }, random);
  const v = Float32Array.from({ length: n * Lk * dv }, random);
  const qAt = ex.heapBase();
  const kAt = align(qAt + q.length * 4);
  const vAt = align(kAt + k.length * 4);
  const oAt = align(vAt + v.length * 4);
  const lAt = align(oAt + n * Lq * dv * 4);
  const wAt = align(lAt + n * Lq * 4);
  const f = heap(wAt + ex.attentionWorkBytes(Lk, d, dv));
  f.set(q, qAt / 4);
  f.set(k, kAt / 4);
  f.set(v, vAt / 4);
  ex.attentionForward(qAt, kAt, vAt, oAt, lAt, 0, n, Lq, Lk, d, dv, scale, 1, offset, 0, 0, 0, 1, 1, 1, wAt, 0, 1);
  const out = new Float32Array(ex.memory.buffer, oAt, n * Lq * dv).slice();
  // The backward on the forward's out and logSumExp, for the upstream gradient g [n, Lq, dv].
  const g = Float32Array.from({ length: n * Lq * dv }, random);
  const gAt = align(wAt + ex.attentionWorkBytes(Lk, d, dv));
  const dqAt = align(gAt + g.length * 4);
  const dkAt = align(dqAt + q.length * 4);
  const dvAt = align(dkAt + k.length * 4);
  const w2At = align(dvAt + v.length * 4);
  heap(w2At + ex.attentionBackwardWorkBytes(Lk, d, dv)).set(g, gAt / 4);
  ex.attentionBackward(qAt, kAt, vAt, oAt, lAt, gAt, dqAt, dkAt, dvAt, 0, n, Lq, Lk, d, dv, scale, 1, offset, 0, 0, 0, 1, 1, 1, w2At, 0, 1);
  const grads = [dqAt, dkAt, dvAt].map((at, i) => new Float32Array(ex.memory.buffer, at, [q, k, v][i].length));
  const expected = [q, k, v].map((t) => new Float64Array(t.length));
  let worst = 0;
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < Lq; i++) {
      const scores = [];
      for (let j = 0; j <= Math.min(Lk - 1, i + offset); j++) {
        let dot = 0;
        for (let x = 0; x < d; x++) dot += q[(s * Lq + i) * d + x] * k[(s * Lk + j) * d + x];
        scores.push(scale * dot);
      }
      const max = Math.max(...scores);
      const w = scores.map((t) => Math.exp(t - max));
      const total = w.reduce((x, y) => x + y, 0);
      const p = w.map((t) => t / total);
      for (let x = 0; x < dv; x++) {
        let o = 0;
        for (let j = 0; j < w.length; j++) o += p[j] * v[(s * Lk + j) * dv + x];
        worst = Math.max(worst, Math.abs(out[(s * Lq + i) * dv + x] - o));
      }
      // dP_j = g_i · v_j, dS_j = p_j (dP_j − Σ p dP); dq_i += scale dS_j k_j, dk_j += scale dS_j q_i, dv_j += p_j g_i.
      const dP = p.map((_, j) => {
        let t = 0;
        for (let x = 0; x < dv; x++) t += g[(s * Lq + i) * dv + x] * v[(s * Lk + j) * dv + x];
        return t;
      });
      const rowDot = p.reduce((acc, pj, j) => acc + pj * dP[j], 0);
      for (let j = 0; j < p.length; j++) {
        const dS = scale * p[j] * (dP[j] - rowDot);
        for (let x = 0; x < d; x++) {
          expected[0][(s * Lq + i) * d + x] += dS * k[(s * Lk + j) * d + x];
          expected[1][(s * Lk + j) * d + x] += dS * q[(s * Lq + i) * d + x];
        }
        for (let x = 0; x < dv; x++) expected[2][(s * Lk + j) * dv + x] += p[j] * g[(s * Lq + i) * dv + x];
      }
    }
  }
  if (!(worst <= 2e-5)) failures.push(`attention forward: max abs error ${worst}`);
  ['dq', 'dk', 'dv'].forEach((name, t) => {
    let error = 0;
    for (let i = 0; i < grads[t].length; i++) error = Math.max(error, Math.abs(grads[t][i] - expected[t][i]) / (1e-3 + Math.abs(expected[t][i])));
    if (!(error <= 1e-3)) failures.push(`attention backward ${name}: max relative error ${error}`);
  });
}

console.log(JSON.stringify(failures.length ? { ok: false, failures: failures.slice(0, 10) } : { ok: true }));
