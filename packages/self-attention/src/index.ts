export { SelfAttention } from './self-attention';
export type { SelfAttentionOptions, SelfAttentionCallOptions, SelfAttentionResult } from './self-attention';
