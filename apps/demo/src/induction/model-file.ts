import { Tensor } from '@heed/tensor';
import type { HeadRole, HeadScores } from './head-scores';
import type { InductionModelConfig } from './model';

// The shipped weights: JSON with every parameter as little-endian float32 bytes in base64 (exact, and a
// third the size of decimal text).

export interface EncodedTensor {
  shape: number[];
  /** base64 of the float32 values, row-major, little-endian. */
  float32: string;
}

export interface InductionModelFile {
  format: 'heed-induction-model/1';
  config: InductionModelConfig;
  training: { steps: number; batchSize: number; lr: number; dataSeed: number; seconds: number; finalLoss: number };
  /** Held-out sequences (letters after the start token) the head scores and roles below were measured on. */
  evaluation: {
    sequences: string[];
    /** Next-token accuracy on the predictable positions (the second run, after its first letter). */
    accuracy: number;
    /** [layer][head] */
    scores: HeadScores[][];
    roles: HeadRole[][];
  };
  weights: Record<string, EncodedTensor>;
}

/** Float32 values -> base64 of their bytes. */
export function encodeFloat32(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** base64 of float32 bytes -> the values. */
export function decodeFloat32(base64: string): Float32Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

export function encodeStateDict(state: Record<string, Tensor>): Record<string, EncodedTensor> {
  return Object.fromEntries(Object.entries(state).map(([name, t]) => [name, { shape: [...t.shape], float32: encodeFloat32(t.data) }]));
}

export function decodeStateDict(weights: Record<string, EncodedTensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(weights).map(([name, { shape, float32 }]) => [name, new Tensor(decodeFloat32(float32), shape)]));
}
