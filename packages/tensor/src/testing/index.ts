// @heed/tensor/testing: the helpers heed's tests share (and a kernel set's author can use). Test-only.
export { expectClose } from './expect-close';
export type { CloseOptions } from './expect-close';
export { expectThrows } from './expect-throws';
export { expectHeedError } from './expect-heed-error';
export { attentionProblemOf, naiveAttention, randomAttentionInputs, stridedKeepMasks } from './naive-attention';
export type { AttentionCase, AttentionInputs, NaiveAttention } from './naive-attention';
export { expectWithin, naiveBroadcast, naiveMatmul, naiveReduce, naiveSoftmax } from './naive-kernels';
export { spyOnFused } from './spy-on-fused';
export { createHostDeviceBackend } from './host-device-backend';
export type { HostDeviceBackend, HostDeviceStorage } from './host-device-backend';
export { conformanceCases } from './conformance-cases';
export { check } from './conformance-target';
export type {
  ConformanceAttentionGradients,
  ConformanceBinaryOp,
  ConformanceCase,
  ConformanceOps,
  ConformanceTarget,
  ConformanceTolerances,
  ConformanceUnaryOp,
} from './conformance-target';
export { kernelSetTarget } from './kernel-set-target';
export { deviceTarget } from './device-target';
