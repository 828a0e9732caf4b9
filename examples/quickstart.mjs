// A tiny reverse-mode autograd example with @heed/tensor.
// Run it with `pnpm demo` (builds @heed/tensor first), or `node examples/quickstart.mjs` after `pnpm build`.
import { mul, sum, tensor } from '@heed/tensor';

const x = tensor(
  [
    [1, 2],
    [3, 4],
  ],
  undefined,
  { requiresGrad: true },
); // [2, 2]
const y = sum(mul(x, x)); // y = Σ x², a scalar
y.backward(); // dy/dx = 2x

console.log(y.item(), x.grad.toArray());
// 30 [ [ 2, 4 ], [ 6, 8 ] ]
