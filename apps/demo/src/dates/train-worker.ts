/// <reference lib="webworker" />
// Trains the date model off the main thread and reports progress: the loss of every step, held-out
// accuracy every `evaluateEvery` steps, and a snapshot of the weights every `reportEvery` steps (so the
// page can show the alignment as it is learned).
import { backendById } from '../backend/backends';
import { DateTrainer, evaluate, heldOutExamples } from './train';
import type { FromWorker, StateSnapshot, ToWorker } from './worker-protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const heldOut = heldOutExamples(100);
let current = 0; // runId of the run going on; a new start or a stop ends the previous one
// The kernels of the page's backend switch, switched on before the first step of a run (once per backend).
let kernels: { id: string; description: Promise<string> } | null = null;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function snapshot(trainer: DateTrainer): [StateSnapshot, Transferable[]] {
  const state: StateSnapshot = {};
  const buffers: Transferable[] = [];
  for (const [name, p] of Object.entries(trainer.model.stateDict())) {
    state[name] = { shape: [...p.shape], data: p.data };
    buffers.push(p.data.buffer);
  }
  return [state, buffers];
}

const yieldToEvents = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function train(message: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const { runId } = message;
  current = runId;
  if (kernels?.id !== message.backend) kernels = { id: message.backend, description: backendById(message.backend).activate() };
  const description = await kernels.description;
  if (runId !== current) return; // superseded while the kernels compiled
  const trainer = new DateTrainer(message.config);
  const start = performance.now();
  const seconds = (): number => (performance.now() - start) / 1000;
  let stepSeconds = 0;
  const stepMs = (steps: number): number => (1000 * stepSeconds) / Math.max(1, steps);
  const untrained = evaluate(trainer.model, heldOut);
  post({ runId, type: 'accuracy', step: 0, exact: untrained.exact, characters: untrained.characters });
  for (let step = 1; step <= message.steps; step++) {
    const stepStart = performance.now();
    const loss = trainer.step();
    stepSeconds += (performance.now() - stepStart) / 1000;
    const report = step % message.reportEvery === 0 || step === message.steps;
    if (report) {
      const [state, buffers] = snapshot(trainer);
      post({ runId, type: 'progress', step, steps: message.steps, loss, state, seconds: seconds() }, buffers);
    } else {
      post({ runId, type: 'progress', step, steps: message.steps, loss, seconds: seconds() });
    }
    if (step % message.evaluateEvery === 0 || step === message.steps) {
      const { exact, characters } = evaluate(trainer.model, heldOut);
      post({ runId, type: 'accuracy', step, exact, characters });
    }
    await yieldToEvents(); // let a 'stop' or a new 'start' in
    if (runId !== current) {
      const [state, buffers] = snapshot(trainer);
      post({ runId, type: 'done', step, stopped: true, seconds: seconds(), state, stepMs: stepMs(step), kernels: description }, buffers);
      return;
    }
  }
  const [state, buffers] = snapshot(trainer);
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
