export { Tensor, fromOp } from './tensor';
export type { ArraysByRank, GradNode, NestedArray, TensorLike } from './tensor';
export { tensor, zeros, ones, full, zerosLike, onesLike, arange, randn, rand } from './creation';
export type { TensorOptions } from './creation';
export { Rng } from './rng';
export { defaultRng, manualSeed } from './default-rng';
export { noGrad, isGradEnabled } from './grad-mode';
export { sizeOf, stridesOf, broadcastShapes, broadcastStrides, normalizeAxis, sameShape } from './shape';

export { HeedError, formatShape, heedErrorBrand, isHeedError } from './errors/heed-error';
export { expectTensor, expectTensorLike, expectNumbers, expectRng, describeValue } from './expect-tensor';
export { checkFiniteInput } from './check-finite-input';
export type { HeedErrorFields } from './errors/heed-error';
export { ShapeError } from './errors/shape-error';
export { ConfigError } from './errors/config-error';
export { ArgumentError } from './errors/argument-error';
export { StateDictError } from './errors/state-dict-error';
export { DeviceError } from './errors/device-error';

export { registerDevice, unregisterDevice, listDevices, deviceBackend } from './device/device-registry';
export { toDevice, toCpu, moveInPlace } from './device/to-device';
export { checkFiniteOnDevice } from './device/check-finite-on-device';
export type {
  DeviceBackend,
  DeviceStorage,
  StridedOperand,
  DeviceBinaryOp,
  DeviceUnaryOp,
  DeviceReduceOp,
  DeviceMatmulProblem,
  DeviceAttentionProblem,
  DeviceVariantGradients,
  DeviceAdamStep,
  DeviceSgdStep,
  DeviceFiniteCheck,
} from './device/device-backend';

export { add, sub, mul, div, pow, maximum } from './ops/binary';
export { neg, exp, log, tanh, sigmoid, relu, sqrt, abs } from './ops/unary';
export { sum, mean, max, min } from './ops/reduce';
export { matmul } from './ops/matmul';
export type { MatmulOptions } from './ops/matmul';
export { linear } from './ops/linear';
export { permute, transpose } from './ops/permute';
export { reshape, unsqueeze, squeeze } from './ops/reshape';
export { broadcastTo } from './ops/broadcast-to';
export { concat } from './ops/concat';
export { slice, split } from './ops/slice';
export { softmax, logSoftmax } from './ops/softmax';
export { where, maskedFill } from './ops/where';
export { gather, embedding } from './ops/gather';
export { dropout } from './ops/dropout';
export { crossEntropy, mseLoss } from './ops/losses';
export { sumToShape } from './ops/sum-to-shape';
export { scaledDotProductAttention, scaledDotProductAttentionWithLogSumExp } from './ops/scaled-dot-product-attention';
export type { ScaledDotProductAttentionResult } from './ops/scaled-dot-product-attention';
export type { ScaledDotProductAttentionOptions } from './ops/scaled-dot-product-attention-problem';
export { attentionWeights } from './ops/attention-weights';
export type { AttentionWeightsOptions } from './ops/attention-weights';

export {
  getKernels,
  setKernels,
  plainKernels,
  registerKernelSet,
  unregisterKernelSet,
  useKernelSet,
  listKernelSets,
  activeKernelSet,
  resolveKernelSet,
} from './kernels/registry';
export type { Kernels, KernelSet } from './kernels/registry';
export { jsKernelSet } from './kernels/js/kernel-set';
export { matmulKernelJs } from './kernels/js/matmul';
export type { MatmulKernel } from './kernels/matmul';
export type { SoftmaxKernel } from './kernels/softmax';
export type { ReduceKernel } from './kernels/reduce';
export { ReduceOp } from './kernels/reduce';
export type { BinaryKernel, UnaryKernel } from './kernels/elementwise';
export { BinaryOp, UnaryOp } from './kernels/elementwise';
export { useWasmKernels, useJsKernels } from './kernels/wasm/use-wasm-kernels';
export type { UseWasmKernelsOptions, WasmKernelsInfo } from './kernels/wasm/use-wasm-kernels';
export { wasmSimdSupported, wasmRelaxedSimdSupported } from './kernels/wasm/load-wasm-kernels';
export { attentionForwardJs, attentionBackwardJs } from './kernels/js/attention';
export type {
  AttentionProblem,
  AttentionForwardKernel,
  AttentionBackwardKernel,
  AttentionWeightsKernel,
  AttentionWeightsBackwardKernel,
  AttentionVariantGradients,
} from './kernels/attention';

export { Module } from './nn/module';
export { checkStateDictEntry } from './nn/check-state-dict-entry';
export { checkConfigObject, checkPositiveInteger, checkBooleanOption, resolveRng, allocateWeights } from './nn/check-config';
export { checkOptionNames } from './nn/check-option-names';
export type { StateDictValue, StateDictValueOptions } from './nn/check-state-dict-entry';
export { Parameter } from './nn/parameter';
export { Linear } from './nn/linear';
export type { LinearOptions } from './nn/linear';
export { Embedding } from './nn/embedding';
export { fans, uniformInit, normalInit, xavierUniform, xavierNormal, kaimingUniform, kaimingNormal } from './nn/init';
export type { KaimingOptions } from './nn/init';

export { Optimizer } from './optim/optimizer';
export { SGD } from './optim/sgd';
export type { SgdOptions } from './optim/sgd';
export { Adam } from './optim/adam';
export type { AdamOptions } from './optim/adam';
export { clipGradNorm } from './optim/clip-grad-norm';
export { clipGradNormAsync } from './optim/clip-grad-norm-async';

export { gradcheck } from './testing/gradcheck';
export type { GradcheckOptions, GradcheckResult } from './testing/gradcheck';
