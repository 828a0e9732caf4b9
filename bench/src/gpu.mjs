// pnpm bench --gpu [--lengths=512,1024,…] [--steps=N] [--row-limit-s=S] [--no-train]
//
// heed on WebGPU against heed on the CPU (WebAssembly SIMD, one thread), same inputs (problem.mjs: a
// MultiHeadAttention(512, 8) self-attention layer, causal, x [1, L, 512]): the forward pass, and one training
// step (forward, loss Σ out ⊙ g, backward, Adam). Agreement is checked on the outputs and on dL/dWq.
//
// Runs in Node through the `webgpu` package (Dawn) on whatever adapter there is. Where Dawn finds none, it
// re-runs itself on SwiftShader (the software Vulkan driver inside @sparticuz/chromium, as @heed/webgpu's tests
// do) and says so: a software adapter measures correctness and overheads, not GPU speed. The table names the
// adapter it measured.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEADS, MODEL_DIM, compare, makeInputs, makeWeights } from './problem.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const webgpuPackageDir = join(here, '..', '..', 'packages', 'webgpu');
const TOLERANCE = 1e-3; // relative: max |gpu − cpu| / max |cpu|

function option(argv, name, fallback) {
  const joined = argv.find((a) => a.startsWith(`--${name}=`));
  return joined ? joined.slice(name.length + 3) : fallback;
}

/** The `webgpu` package's GPU (Dawn), or null where it finds no adapter. */
async function dawnAdapter() {
  const { create, globals } = createRequire(join(webgpuPackageDir, 'package.json'))('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return adapter ? gpu : null;
}

/** Re-runs this bench on SwiftShader: the environment must be set before the process starts (the loader reads it). */
async function rerunOnSwiftShader(argv) {
  const { findChromium } = await import('../../scripts/chromium.mjs');
  const { path } = await findChromium(webgpuPackageDir, { allowOverride: false });
  const icd = join(dirname(path), 'vk_swiftshader_icd.json');
  if (!existsSync(icd)) throw new Error(`pnpm bench --gpu: no GPU adapter, and no SwiftShader driver at ${icd}`);
  console.log('No GPU adapter found by Dawn: running on SwiftShader (a software adapter: not a GPU speed measurement).');
  const env = {
    ...process.env,
    VK_ICD_FILENAMES: icd,
    LD_LIBRARY_PATH: [dirname(path), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    HEED_BENCH_GPU_SOFTWARE: '1',
  };
  const child = spawnSync(process.execPath, [...process.execArgv, join(here, 'main.mjs'), '--gpu', ...argv], { stdio: 'inherit', env });
  return child.status ?? 1;
}

async function time(fn, steps) {
  await fn(); // warm-up: pipelines compiled, buffers pooled
  const times = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Runs the GPU bench; resolves to the exit code. */
export async function runGpuBench(argv) {
  const lengths = option(argv, 'lengths', '512,1024,2048,4096,8192').split(',').map(Number);
  const steps = Number(option(argv, 'steps', '3'));
  const rowLimitMs = Number(option(argv, 'row-limit-s', '120')) * 1000;
  const train = !argv.includes('--no-train');

  const gpu = await dawnAdapter();
  if (gpu === null) {
    if (process.env.HEED_BENCH_GPU_SOFTWARE) throw new Error('pnpm bench --gpu: no adapter even on SwiftShader');
    return rerunOnSwiftShader(argv);
  }
  const T = await import('@heed/tensor');
  const { MultiHeadAttention } = await import('@heed/multi-head');
  const { requestGpuDevice, useWebGpu } = await import('@heed/webgpu');
  const { device, adapter } = await requestGpuDevice({ gpu, powerPreference: 'high-performance' });
  useWebGpu(device);
  const wasm = await T.useWasmKernels({ relaxedSimd: true, threads: 1 });
  const info = adapter.info;
  const adapterName = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ');
  console.log(`adapter: ${adapterName}${process.env.HEED_BENCH_GPU_SOFTWARE ? ' (software)' : ''}`);
  console.log(
    `CPU: heed WebAssembly (${wasm ? `${wasm.simd} SIMD, ${wasm.threads} thread` : 'JS kernels'}), Node ${process.versions.node}`,
  );
  console.log(`MultiHeadAttention(${MODEL_DIM}, ${HEADS}), causal, x [1, L, ${MODEL_DIM}]; median of ${steps} after a warm-up\n`);

  const W = makeWeights();
  const names = { wq: 'queryProjection', wk: 'keyProjection', wv: 'valueProjection', wo: 'outputProjection' };
  const layerOn = async (deviceName) => {
    const layer = new MultiHeadAttention({ embedDim: MODEL_DIM, numHeads: HEADS });
    for (const [short, field] of Object.entries(names)) {
      layer[field].weight.data.set(W[short]);
      layer[field].bias.data.set(W[`b${short.slice(1)}`]);
    }
    return layer.toDevice(deviceName);
  };
  const rows = [];
  let failed = false;
  for (const L of lengths) {
    const inputs = makeInputs('train', L);
    const row = { L };
    for (const deviceName of ['cpu', 'webgpu']) {
      const layer = await layerOn(deviceName);
      const x = await T.toDevice(new T.Tensor(inputs.x, [1, L, MODEL_DIM]), deviceName);
      const g = await T.toDevice(new T.Tensor(inputs.g, [1, L, MODEL_DIM]), deviceName);
      let output = null;
      const forwardMs = await time(async () => {
        output = await T.noGrad(() => layer.forward(x, x, x, { causal: true, needWeights: false }).output).read();
      }, steps);
      row[`${deviceName}Forward`] = forwardMs;
      row[`${deviceName}Output`] = output;
      if (train) {
        const optimizer = new T.Adam(layer.parameters(), { lr: 1e-4 });
        let gradient = null;
        const first = layer.queryProjection.weight;
        const trainMs = await time(async () => {
          optimizer.zeroGrad();
          const out = layer.forward(x, x, x, { causal: true, needWeights: false }).output;
          out.backward(g); // loss Σ out ⊙ g
          gradient ??= await first.grad.read(); // dL/dWq of the first step (both devices start from the same weights)
          optimizer.step();
          await first.read(); // waits for the step
        }, steps);
        row[`${deviceName}Train`] = trainMs;
        row[`${deviceName}Gradient`] = gradient;
      }
      if ((row[`${deviceName}Train`] ?? row[`${deviceName}Forward`]) > rowLimitMs) row.stop = true;
    }
    row.forwardAgreement = compare(row.webgpuOutput, row.cpuOutput).relDiff;
    if (train) row.trainAgreement = compare(row.webgpuGradient, row.cpuGradient).relDiff;
    if (!(row.forwardAgreement <= TOLERANCE) || (train && !(row.trainAgreement <= TOLERANCE))) failed = true;
    rows.push(row);
    const ms = (v) => (v === undefined ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
    const ratio = (cpu, gpu) => (cpu === undefined ? '—' : `${(cpu / gpu).toFixed(2)}×`);
    console.log(
      [
        `L ${String(L).padStart(5)}`,
        `forward ${ms(row.webgpuForward)} ms (CPU ${ms(row.cpuForward)} ms, ${ratio(row.cpuForward, row.webgpuForward)})`,
        train ? `train step ${ms(row.webgpuTrain)} ms (CPU ${ms(row.cpuTrain)} ms, ${ratio(row.cpuTrain, row.webgpuTrain)})` : '',
        `agreement ${row.forwardAgreement.toExponential(1)}${train ? ` / ${row.trainAgreement.toExponential(1)}` : ''}`,
      ]
        .filter(Boolean)
        .join('  '),
    );
    if (row.stop && L !== lengths[lengths.length - 1]) {
      console.log(`(stopping: a run took over ${rowLimitMs / 1000} s; --row-limit-s to change)`);
      break;
    }
  }
  if (failed) console.log(`\nDISAGREEMENT: WebGPU and CPU differ beyond ${TOLERANCE} relative`);
  device.destroy();
  return failed ? 1 : 0;
}
