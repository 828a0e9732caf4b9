import { deviceBackend } from '../device/device-registry';
import { ArgumentError } from '../errors/argument-error';
import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import { expectIndices, expectTensor } from '../expect-tensor';
import { Tensor } from '../tensor';
import { mul, sub } from './binary';
import { gather } from './gather';
import { mean, sum } from './reduce';
import { reshape } from './reshape';
import { logSoftmax } from './softmax';

/**
 * Mean negative log-likelihood of integer `targets` [N] under `logits` [N, C] -> scalar.
 * (Stable: through logSoftmax.)
 */
export function crossEntropy(logits: Tensor, targets: Tensor | ArrayLike<number>): Tensor {
  expectTensor('crossEntropy', 'logits', logits);
  const t =
    targets instanceof Tensor
      ? targets
      : new Tensor(Float32Array.from(expectIndices('crossEntropy', 'targets', targets)), [targets.length]);
  if (logits.rank !== 2 || t.rank !== 1 || t.shape[0] !== logits.shape[0]) {
    throw new ShapeError(`expects logits [N, C] and targets [N], got ${formatShape(logits.shape)} and ${formatShape(t.shape)}`, {
      op: 'crossEntropy',
      argument: 'targets',
      shapes: { logits: logits.shape, targets: t.shape },
    });
  }
  const classes = logits.shape[1]!;
  t.data.forEach((target, i) => {
    if (!Number.isInteger(target) || target < 0 || target >= classes) {
      throw new ArgumentError(`targets[${i}] = ${target} is not a class index in [0, ${classes}) for logits ${formatShape(logits.shape)}`, {
        op: 'crossEntropy',
        argument: 'targets',
        shapes: { logits: logits.shape, targets: t.shape },
      });
    }
  });
  if (logits.device !== 'cpu') {
    // On a device: the log-probabilities of the targets picked by a one-hot product (the targets are host values).
    const oneHot = new Float32Array(logits.size); // [N, C]
    t.data.forEach((target, i) => (oneHot[i * classes + target] = 1));
    const picked = sum(
      mul(logSoftmax(logits, 1), new Tensor(deviceBackend(logits.device, 'crossEntropy').upload(oneHot), logits.shape)),
      1,
    ); // [N]
    return mul(mean(picked), -1);
  }
  const picked = gather(logSoftmax(logits, 1), 1, reshape(t, [-1, 1])); // [N, 1]
  return mul(mean(picked), -1);
}

/** Mean squared error between two tensors of the same shape -> scalar. */
export function mseLoss(prediction: Tensor, target: Tensor): Tensor {
  expectTensor('mseLoss', 'prediction', prediction);
  expectTensor('mseLoss', 'target', target);
  if (prediction.shape.join() !== target.shape.join()) {
    throw new ShapeError(`prediction ${formatShape(prediction.shape)} and target ${formatShape(target.shape)} differ`, {
      op: 'mseLoss',
      argument: 'target',
      shapes: { prediction: prediction.shape, target: target.shape },
    });
  }
  const d = sub(prediction, target);
  return mean(mul(d, d));
}
