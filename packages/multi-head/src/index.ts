export { MultiHeadAttention } from './multi-head-attention';
export type { MultiHeadAttentionOptions, MultiHeadForwardOptions, MultiHeadAttentionResult } from './multi-head-attention';
export { KeyValueCache } from './key-value-cache';
export { PerHeadScorer } from './per-head-scorer';
export { fromTorchMask } from './from-torch-mask';
export type { TorchStateDict, LoadTorchStateDictOptions } from './torch-state-dict';
export { LlamaAttention } from './llama-attention';
export type { LlamaAttentionOptions, LlamaForwardOptions, LlamaAttentionResult } from './llama-attention';
