import { backendOf } from '../device/backend-of';
import type { DeviceStorage } from '../device/device-backend';
import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import { expectTensor } from '../expect-tensor';
import { getKernels } from '../kernels/registry';
import { broadcastShapes, broadcastStrides, sizeOf } from '../shape';
import { fromOp, type Tensor } from '../tensor';
import { sumToShape } from './sum-to-shape';

export interface MatmulOptions {
  /** Use a's last two axes transposed (a stored as [.., k, m]) without copying it. */
  transposeA?: boolean;
  /** Use b's last two axes transposed (b stored as [.., n, k]) without copying it: Q·Kᵀ. */
  transposeB?: boolean;
}

/**
 * Batched matrix product with broadcast batch dimensions:
 * [..., m, k] x [..., k, n] -> [..., m, n]   (either side may be read transposed, see options).
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  expectTensor('matmul', 'a', a);
  expectTensor('matmul', 'b', b);
  const transposeA = options?.transposeA ?? false;
  const transposeB = options?.transposeB ?? false;
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`needs tensors of rank ≥ 2, got a ${formatShape(a.shape)} and b ${formatShape(b.shape)}`, {
      op: 'matmul',
      argument: a.rank < 2 ? 'a' : 'b',
      shapes: { a: a.shape, b: b.shape },
    });
  }
  const [ar, ac] = [a.shape[a.rank - 2]!, a.shape[a.rank - 1]!];
  const [br, bc] = [b.shape[b.rank - 2]!, b.shape[b.rank - 1]!];
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const [kb, n] = transposeB ? [bc, br] : [br, bc];
  if (k !== kb) {
    const ta = transposeA ? 'ᵀ' : '';
    const tb = transposeB ? 'ᵀ' : '';
    throw new ShapeError(
      `cannot multiply a${ta} ${formatShape(a.shape)} by b${tb} ${formatShape(b.shape)}: inner sizes ${k} and ${kb} differ`,
      {
        op: 'matmul',
        argument: 'b',
        shapes: { a: a.shape, b: b.shape },
      },
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcastShapes(aBatch, bBatch, 'matmul', ['a batch', 'b batch']);
  const outShape = [...batch, m, n];
  const backend = backendOf('matmul', ['a', 'b'], a, b);
  const count = sizeOf(batch);
  const aStrides = broadcastStrides(aBatch, batch);
  const bStrides = broadcastStrides(bBatch, batch);
  // On a device: one dispatch for every product of the batch, each reading A and B at its offsets.
  const aOffsets = backend === null ? null : new Uint32Array(count);
  const bOffsets = backend === null ? null : new Uint32Array(count);
  const out: Float32Array | null = backend === null ? new Float32Array(sizeOf(outShape)) : null;
  const kernel = getKernels().matmul;
  const index = new Array<number>(batch.length).fill(0);
  let aMat = 0;
  let bMat = 0;
  for (let t = 0; t < count; t++) {
    if (out !== null) kernel(a.data, aMat * m * k, b.data, bMat * k * n, out, t * m * n, m, n, k, transposeA, transposeB);
    else {
      aOffsets![t] = aMat * m * k;
      bOffsets![t] = bMat * k * n;
    }
    for (let d = batch.length - 1; d >= 0; d--) {
      index[d]!++;
      aMat += aStrides[d]!;
      bMat += bStrides[d]!;
      if (index[d]! < batch[d]!) break;
      aMat -= aStrides[d]! * index[d]!;
      bMat -= bStrides[d]! * index[d]!;
      index[d] = 0;
    }
  }
  const values: Float32Array | DeviceStorage =
    out ?? backend!.matmul(a.storage!, b.storage!, { m, n, k, transposeA, transposeB, aOffsets: aOffsets!, bOffsets: bOffsets! });
  return fromOp(values, outShape, 'matmul', [a, b], (g) => {
    // C = op(A) op(B); each gradient is again one transposition-free product.
    let gA: Tensor | null = null;
    let gB: Tensor | null = null;
    if (a.requiresGrad) {
      gA = !transposeA
        ? matmul(g, b, { transposeB: !transposeB }) // g op(B)ᵀ
        : matmul(b, g, { transposeA: transposeB, transposeB: true }); // (g op(B)ᵀ)ᵀ = op(B) gᵀ
    }
    if (b.requiresGrad) {
      gB = !transposeB
        ? matmul(a, g, { transposeA: !transposeA }) // op(A)ᵀ g
        : matmul(g, a, { transposeA: true, transposeB: transposeA }); // (op(A)ᵀ g)ᵀ = gᵀ op(A)
    }
    return [gA && sumToShape(gA, a.shape), gB && sumToShape(gB, b.shape)];
  });
}
