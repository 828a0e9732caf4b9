import { DeviceError, deviceBackend, formatShape, fromOp, Tensor } from '@heed/tensor';

// Shape letters: n entries per row (the last axis), ... leading dims.

/**
 * α-entmax (α = 2: sparsemax, α = 1.5: entmax15) of a tensor on a device, along its last axis, by that device's
 * kernel; the gradient (dz = s ⊙ g − s (sᵀg) / Σs, s = p^{2−α} on the support) runs there too.
 * [..., n] -> [..., n]. A DeviceError naming `op` when the device has no entmax kernel.
 */
export function deviceEntmax(z: Tensor, alpha: number, op: string): Tensor {
  const backend = deviceBackend(z.device, op);
  const { entmax, entmaxBackward } = backend;
  if (entmax === undefined || entmaxBackward === undefined) {
    throw new DeviceError(
      `z ${formatShape(z.shape)} is on '${z.device}', whose backend has no entmax kernel: move it with \`await toCpu(z)\` first`,
      { op, argument: 'z', shapes: { z: z.shape } },
    );
  }
  const n = z.shape[z.rank - 1] ?? 1;
  const rows = n === 0 ? 0 : z.size / n;
  const { output, secant } = entmax.call(backend, z.storage!, rows, n, alpha); // [..., n] twice
  return fromOp(output, z.shape, op, [z], (g) => {
    const gradient = g.storage ?? backend.upload(g.data); // [..., n]
    return [new Tensor(entmaxBackward.call(backend, secant, gradient, rows, n), z.shape)];
  });
}
