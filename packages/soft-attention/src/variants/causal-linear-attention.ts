import { formatShape, fromOp, ShapeError, Tensor } from '@heed/tensor';

// Shape letters: L positions, d feature size of the (mapped) queries and keys, dv value size, ... leading dims.

/**
 * Causal linear attention on already feature-mapped queries and keys (all entries > 0), as the RNN of
 * Katharopoulos et al. 2020: with S_i = Σ_{j≤i} φk_j v_jᵀ [d, dv] and Z_i = Σ_{j≤i} φk_j [d],
 *   out_i = φq_iᵀ S_i / φq_iᵀ Z_i.
 * phiQuery [..., L, d], phiKey [..., L, d], values [..., L, dv] -> [..., L, dv]. O(L·d·dv) time and
 * O(d·dv) state, forward and backward (the backward runs the prefix sums in reverse).
 */
export function causalLinearAttention(phiQuery: Tensor, phiKey: Tensor, values: Tensor): Tensor {
  const op = 'causalLinearAttention';
  const lead = phiQuery.shape.slice(0, -2);
  const same = (t: Tensor, rank: number) => t.rank === rank && t.shape.slice(0, -1).every((n, i) => n === phiQuery.shape[i]);
  if (
    phiQuery.rank < 2 ||
    !same(phiKey, phiQuery.rank) ||
    phiKey.shape[phiKey.rank - 1] !== phiQuery.shape[phiQuery.rank - 1] ||
    !same(values, phiQuery.rank)
  ) {
    throw new ShapeError(
      `phiQuery ${formatShape(phiQuery.shape)}, phiKey ${formatShape(phiKey.shape)} and values ${formatShape(values.shape)} must be [..., L, d], [..., L, d] and [..., L, dv] (self-attention: one L)`,
      {
        op,
        argument: 'phiKey',
        shapes: { phiQuery: phiQuery.shape, phiKey: phiKey.shape, values: values.shape },
      },
    );
  }
  const L = phiQuery.shape[phiQuery.rank - 2]!;
  const d = phiQuery.shape[phiQuery.rank - 1]!;
  const dv = values.shape[values.rank - 1]!;
  const batches = lead.reduce((a, b) => a * b, 1);
  const Q = phiQuery.data;
  const K = phiKey.data;
  const V = values.data;
  const out = new Float32Array(batches * L * dv);
  const denominators = new Float64Array(batches * L); // φq_i·Z_i, kept for the backward pass
  const S = new Float64Array(d * dv);
  const Z = new Float64Array(d);
  for (let n = 0; n < batches; n++) {
    S.fill(0);
    Z.fill(0);
    for (let i = 0; i < L; i++) {
      const row = n * L + i;
      for (let a = 0; a < d; a++) {
        const k = K[row * d + a]!;
        Z[a]! += k;
        for (let c = 0; c < dv; c++) S[a * dv + c]! += k * V[row * dv + c]!;
      }
      let den = 0;
      for (let a = 0; a < d; a++) den += Q[row * d + a]! * Z[a]!;
      denominators[row] = den;
      for (let c = 0; c < dv; c++) {
        let num = 0;
        for (let a = 0; a < d; a++) num += Q[row * d + a]! * S[a * dv + c]!;
        out[row * dv + c] = num / den;
      }
    }
  }
  return fromOp(out, [...lead, L, dv], op, [phiQuery, phiKey, values], (g) => {
    // out_i = num_i / den_i: dnum_i = g_i / den_i, dden_i = −g_i·out_i / den_i
    // dφq_i = S_i dnum_i + Z_i dden_i; with R_j = Σ_{i≥j} φq_i dnum_iᵀ and r_j = Σ_{i≥j} φq_i dden_i:
    // dφk_j = R_j v_j + r_j, dv_j = R_jᵀ φk_j
    const dQ = new Float32Array(phiQuery.size);
    const dK = new Float32Array(phiKey.size);
    const dV = new Float32Array(values.size);
    const G = g.data;
    const R = new Float64Array(d * dv);
    const r = new Float64Array(d);
    const dNum = new Float64Array(dv);
    for (let n = 0; n < batches; n++) {
      S.fill(0);
      Z.fill(0);
      for (let i = 0; i < L; i++) {
        const row = n * L + i;
        for (let a = 0; a < d; a++) {
          const k = K[row * d + a]!;
          Z[a]! += k;
          for (let c = 0; c < dv; c++) S[a * dv + c]! += k * V[row * dv + c]!;
        }
        const den = denominators[row]!;
        let dDen = 0;
        for (let c = 0; c < dv; c++) {
          dNum[c] = G[row * dv + c]! / den;
          dDen -= (G[row * dv + c]! * out[row * dv + c]!) / den;
        }
        for (let a = 0; a < d; a++) {
          let acc = Z[a]! * dDen;
          for (let c = 0; c < dv; c++) acc += S[a * dv + c]! * dNum[c]!;
          dQ[row * d + a] = acc;
        }
      }
      R.fill(0);
      r.fill(0);
      for (let i = L - 1; i >= 0; i--) {
        const row = n * L + i;
        const den = denominators[row]!;
        let dDen = 0;
        for (let c = 0; c < dv; c++) {
          dNum[c] = G[row * dv + c]! / den;
          dDen -= (G[row * dv + c]! * out[row * dv + c]!) / den;
        }
        for (let a = 0; a < d; a++) {
          const q = Q[row * d + a]!;
          r[a]! += q * dDen;
          for (let c = 0; c < dv; c++) R[a * dv + c]! += q * dNum[c]!;
        }
        for (let a = 0; a < d; a++) {
          let acc = r[a]!;
          for (let c = 0; c < dv; c++) acc += R[a * dv + c]! * V[row * dv + c]!;
          dK[row * d + a] = acc;
        }
        for (let c = 0; c < dv; c++) {
          let acc = 0;
          for (let a = 0; a < d; a++) acc += R[a * dv + c]! * K[row * d + a]!;
          dV[row * dv + c] = acc;
        }
      }
    }
    return [new Tensor(dQ, phiQuery.shape), new Tensor(dK, phiKey.shape), new Tensor(dV, values.shape)];
  });
}
