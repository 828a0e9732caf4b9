// The implementations the bench can run, by id. Each is loaded only inside its own child process.

export const IMPLS = {
  'heed-js': { label: 'heed (js)', family: 'heed', load: async (task, o) => (await import('./impl-heed.mjs')).createHeed('js', task, o) },
  'heed-wasm1': {
    label: 'heed (wasm, 1 thread)',
    family: 'heed',
    load: async (task, o) => (await import('./impl-heed.mjs')).createHeed('wasm1', task, o),
  },
  'heed-wasm2': {
    label: 'heed (wasm, 2 threads)',
    family: 'heed',
    load: async (task, o) => (await import('./impl-heed.mjs')).createHeed('wasm2', task, o),
  },
  'tfjs-cpu': {
    label: 'tfjs (cpu)',
    family: 'tfjs',
    load: async (task, o) => (await import('./impl-tfjs.mjs')).createTfjs('cpu', 'batched', task, o),
  },
  'tfjs-wasm': {
    label: 'tfjs-wasm (batched)',
    family: 'tfjs',
    load: async (task, o) => (await import('./impl-tfjs.mjs')).createTfjs('wasm', 'batched', task, o),
  },
  'tfjs-wasm-head': {
    label: 'tfjs-wasm (per head)',
    family: 'tfjs',
    load: async (task, o) => (await import('./impl-tfjs.mjs')).createTfjs('wasm', 'perhead', task, o),
  },
  'ort-1': {
    label: 'onnxruntime (1 thread)',
    family: 'ort',
    load: async (task, o) => (await import('./impl-ort.mjs')).createOrt(1, task, o),
  },
  'ort-2': {
    label: 'onnxruntime (2 threads)',
    family: 'ort',
    load: async (task, o) => (await import('./impl-ort.mjs')).createOrt(2, task, o),
  },
  'onnx-export-1': {
    label: 'heed-trained, served by ONNX Runtime (1 thread)',
    family: 'ort',
    load: async (task, o) => (await import('./impl-heed-onnx.mjs')).createHeedOnnx(1, task, o),
  },
  'onnx-export-2': {
    label: 'heed-trained, served by ONNX Runtime (2 threads)',
    family: 'ort',
    load: async (task, o) => (await import('./impl-heed-onnx.mjs')).createHeedOnnx(2, task, o),
  },
  'ortweb-1': {
    label: 'onnxruntime-web (1 thread)',
    family: 'ort',
    load: async (task, o) => (await import('./impl-ort-web.mjs')).createOrtWeb(1, task, o),
  },
  'ortweb-2': {
    label: 'onnxruntime-web (2 threads)',
    family: 'ort',
    load: async (task, o) => (await import('./impl-ort-web.mjs')).createOrtWeb(2, task, o),
  },
};
