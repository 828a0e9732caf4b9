// One implementation × task of `pnpm bench --gpu`, in a process of its own (started by gpu.mjs): runs every
// length, compares with the reference row's values (files in the run's folder; the reference row writes them)
// and prints one line `RESULT <json>`. WebGPU comes from the `webgpu` package (Dawn's Node bindings), set as
// navigator.gpu for the peers that look there (tfjs-backend-webgpu, onnxruntime-web).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measureLengths } from './gpu-measure.mjs';
import { REFERENCE_IMPL } from './gpu-impls.mjs';
import { RESULT_PREFIX } from './gpu-result.mjs';

/** The `webgpu` package's GPU, installed as navigator.gpu (Node 20 has no navigator; Node 21+ has one without gpu). */
async function nodeGpu() {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals); // GPUBufferUsage, GPUMapMode, … as in a browser
  // On SwiftShader, Dawn's zero fill of workgroup memory compiles element by element (seconds per kernel); the
  // software runs turn it off as @heed/webgpu's tests do. A real GPU runs with Dawn's defaults, as Chromium does.
  const gpu = create(process.env.HEED_BENCH_GPU_SOFTWARE ? ['enable-dawn-features=disable_workgroup_init'] : []);
  if (globalThis.navigator === undefined) globalThis.navigator = {};
  Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
  return gpu;
}

/**
 * onnxruntime-web (its WebGPU build runs Dawn's C++ in WebAssembly on a shared memory) hands
 * queue.writeBuffer views of a SharedArrayBuffer, which the `webgpu` package refuses ("Invalid argument");
 * browsers take them. Its devices get a writeBuffer that copies such a view first.
 */
function copySharedWrites(gpu) {
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (options) => {
    const adapter = await requestAdapter(options);
    if (adapter === null) return adapter;
    const requestDevice = adapter.requestDevice.bind(adapter);
    adapter.requestDevice = async (descriptor) => {
      const device = await requestDevice(descriptor);
      const queue = device.queue;
      const writeBuffer = queue.writeBuffer.bind(queue);
      queue.writeBuffer = (buffer, offset, data, dataOffset = 0, size) => {
        if (!(data?.buffer instanceof SharedArrayBuffer)) return writeBuffer(buffer, offset, data, dataOffset, size);
        const element = data.BYTES_PER_ELEMENT ?? 1;
        const bytes = new Uint8Array(
          data.buffer,
          data.byteOffset + dataOffset * element,
          size === undefined ? data.byteLength - dataOffset * element : size * element,
        );
        return writeBuffer(buffer, offset, bytes.slice());
      };
      return device;
    };
    return adapter;
  };
}

async function createImplementation(id, task) {
  if (id === 'ort-webgpu' || id === 'ort-webgpu-matmul') {
    const { createOrtNodeWebGpu } = await import('./gpu-ort-node.mjs');
    return createOrtNodeWebGpu(task, id === 'ort-webgpu' ? 'contrib' : 'matmul');
  }
  const runners = await import('./gpu-runners.mjs');
  if (id === 'heed-wasm1') return runners.createHeed('cpu', task, {});
  const gpu = await nodeGpu();
  if (id === 'heed-webgpu') return runners.createHeed('webgpu', task, { gpu });
  if (id === 'tfjs-webgpu') return runners.createTfjsWebgpu(task);
  if (id === 'ortweb-webgpu') {
    copySharedWrites(gpu);
    return runners.createOrtWebGpu(task, await import('onnxruntime-web/webgpu'));
  }
  throw new Error(`gpu-child: unknown implementation ${id}`);
}

/** Reference values as files `<task>-<L>.f32` in the run's folder. */
function fileReference(dir, task, isReference) {
  const file = (L) => join(dir, `${task}-${L}.f32`);
  return {
    get: (L) => {
      if (existsSync(file(L))) {
        const bytes = readFileSync(file(L));
        return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      }
      return isReference ? undefined : null;
    },
    save: (L, values) => writeFileSync(file(L), new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
  };
}

const args = JSON.parse(process.argv[2]);
let output;
try {
  const implementation = await createImplementation(args.id, args.task);
  const results = await measureLengths(
    implementation,
    args.task,
    args.lengths,
    args,
    fileReference(args.refDir, args.task, args.id === REFERENCE_IMPL),
  );
  output = { info: implementation.info, results };
} catch (error) {
  output = {
    error: String(error?.message ?? error)
      .split('\n')[0]
      .slice(0, 300),
  };
}
console.log(`${RESULT_PREFIX}${JSON.stringify(output)}`);
process.exit(0); // Dawn's threads and onnxruntime-web's would keep the process alive
