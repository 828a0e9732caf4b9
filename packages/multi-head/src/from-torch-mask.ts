import { Tensor } from '@heed/tensor';
import { toMask, type MaskLike } from '@heed/soft-attention';

/**
 * PyTorch's boolean `key_padding_mask` / `attn_mask` of `nn.MultiheadAttention` (true = may NOT attend)
 * as heed's keep-mask (1 = may attend), same shape. Only for boolean masks: PyTorch's float masks are
 * added to the scores and go to `additiveMask` unchanged.
 */
export function fromTorchMask(torchMask: MaskLike): Tensor {
  const masked = toMask(torchMask);
  const keep = new Float32Array(masked.size);
  for (let i = 0; i < keep.length; i++) keep[i] = masked.data[i] !== 0 ? 0 : 1;
  return new Tensor(keep, masked.shape);
}
