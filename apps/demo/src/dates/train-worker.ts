/// <reference lib="webworker" />
// Trains the date model off the main thread and reports progress: the loss of every step, held-out
// accuracy every `evaluateEvery` steps, and a snapshot of the weights every `reportEvery` steps (so the
// page can show the alignment as it is learned).
import { backendById } from '../backend/backends';
import { DateModel } from './model';
import { DateTrainer, type Evaluation, evaluate, heldOutExamples } from './train';
import type { FromWorker, StateSnapshot, ToWorker } from './worker-protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const heldOut = heldOutExamples(100);
let current = 0; // runId of the run going on; a new start or a stop ends the previous one
// The kernels of the page's backend switch, switched on before the first step of a run (once per backend).
let kernels: { id: string; description: Promise<string> } | null = null;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** The weights as host arrays (read back from the GPU when they live there), with their buffers to transfer. */
async function snapshot(trainer: DateTrainer): Promise<[StateSnapshot, Transferable[]]> {
  const state: StateSnapshot = await trainer.readState();
  return [state, Object.values(state).map((entry) => entry.data.buffer)];
}

/** Held-out accuracy; a model on a device is decoded by a CPU copy (greedy decoding reads every step's argmax). */
async function heldOutAccuracy(trainer: DateTrainer, onDevice: boolean): Promise<Evaluation> {
  if (!onDevice) return evaluate(trainer.model, heldOut);
  const copy = new DateModel(trainer.model.config);
  copy.loadStateDict(await trainer.readState());
  return evaluate(copy, heldOut);
}

const yieldToEvents = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function train(message: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const { runId } = message;
  current = runId;
  const backend = backendById(message.backend);
  if (kernels?.id !== message.backend) kernels = { id: message.backend, description: backend.activate() };
  const description = await kernels.description;
  if (runId !== current) return; // superseded while the kernels compiled
  const trainer = new DateTrainer(message.config);
  const device = backend.device;
  if (device !== undefined) await trainer.toDevice(device); // the same initial weights, then every step there
  const trainStep = (): number | Promise<number> => (device === undefined ? trainer.step() : trainer.stepAsync());
  const start = performance.now();
  const seconds = (): number => (performance.now() - start) / 1000;
  let stepSeconds = 0;
  const stepMs = (steps: number): number => (1000 * stepSeconds) / Math.max(1, steps);
  const untrained = await heldOutAccuracy(trainer, device !== undefined);
  post({ runId, type: 'accuracy', step: 0, exact: untrained.exact, characters: untrained.characters });
  for (let step = 1; step <= message.steps; step++) {
    const stepStart = performance.now();
    const loss = await trainStep();
    stepSeconds += (performance.now() - stepStart) / 1000;
    const report = step % message.reportEvery === 0 || step === message.steps;
    if (report) {
      const [state, buffers] = await snapshot(trainer);
      post({ runId, type: 'progress', step, steps: message.steps, loss, state, seconds: seconds() }, buffers);
    } else {
      post({ runId, type: 'progress', step, steps: message.steps, loss, seconds: seconds() });
    }
    if (step % message.evaluateEvery === 0 || step === message.steps) {
      const { exact, characters } = await heldOutAccuracy(trainer, device !== undefined);
      post({ runId, type: 'accuracy', step, exact, characters });
    }
    await yieldToEvents(); // let a 'stop' or a new 'start' in
    if (runId !== current) {
      const [state, buffers] = await snapshot(trainer);
      post({ runId, type: 'done', step, stopped: true, seconds: seconds(), state, stepMs: stepMs(step), kernels: description }, buffers);
      return;
    }
  }
  const [state, buffers] = await snapshot(trainer);
  post(
    {
      runId,
      type: 'done',
      step: message.steps,
      stopped: false,
      seconds: seconds(),
      state,
      stepMs: stepMs(message.steps),
      kernels: description,
    },
    buffers,
  );
}

scope.addEventListener('message', (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'stop') {
    current = 0;
    return;
  }
  train(message).catch((error: unknown) =>
    post({ runId: message.runId, type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});
