// ONNX Runtime native (onnxruntime-node, its CPU execution provider), 1 or 2 intra-op threads.

import * as ort from 'onnxruntime-node';
import { ortPeer } from './ort-peer.mjs';

export async function createOrt(threads, task, options = {}) {
  const sessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const info = {
    kernels: `cpu EP, intraOpNumThreads ${threads}, onnxruntime-node ${ort.env.versions?.node ?? '?'}`,
    build: { kind: 'native', threads, source: 'intraOpNumThreads' },
  };
  return ortPeer(ort, sessionOptions, info, task, options);
}
