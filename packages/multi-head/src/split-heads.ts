import { permute, reshape, type Tensor } from '@heed/tensor';

// Shape letters: B batch, L sequence length, H heads, d head size (feature columns [h·d, (h+1)·d) belong to head h).

/** [B, L, H·d] -> [B, H, L, d]: head h takes feature columns [h·d, (h+1)·d), PyTorch's layout. */
export function splitHeads(x: Tensor, numHeads: number): Tensor {
  const [B, L, features] = x.shape as [number, number, number];
  const perHead = reshape(x, [B, L, numHeads, features / numHeads]); // [B, L, H·d] -> [B, L, H, d]
  return permute(perHead, [0, 2, 1, 3]); // [B, L, H, d] -> [B, H, L, d]
}

/** [B, H, L, d] -> [B, L, H·d]: the heads side by side, in head order (inverse of splitHeads). */
export function mergeHeads(x: Tensor): Tensor {
  const [B, H, L, d] = x.shape as [number, number, number, number];
  const sideBySide = permute(x, [0, 2, 1, 3]); // [B, H, L, d] -> [B, L, H, d]
  return reshape(sideBySide, [B, L, H * d]); // [B, L, H, d] -> [B, L, H·d]
}
