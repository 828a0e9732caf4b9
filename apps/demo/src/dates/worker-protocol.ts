import type { TrainConfig } from './train';

/** A state dict as transferable arrays: name -> { shape, data }. */
export type StateSnapshot = Record<string, { shape: number[]; data: Float32Array }>;

/** Page -> worker. */
export type ToWorker =
  | {
      type: 'start';
      runId: number;
      config: Partial<TrainConfig>;
      steps: number;
      reportEvery: number;
      evaluateEvery: number;
      /** The id of the backend (see backend/backends.ts) to train on. */
      backend: string;
    }
  | { type: 'stop' };

/** Worker -> page; `runId` is the one of the 'start' the message belongs to. */
export type FromWorker = { runId: number } & (
  | { type: 'progress'; step: number; steps: number; loss: number; state?: StateSnapshot; seconds: number }
  | { type: 'accuracy'; step: number; exact: number; characters: number }
  | {
      type: 'done';
      step: number;
      stopped: boolean;
      seconds: number;
      state: StateSnapshot;
      /** The mean time of one training step (the held-out evaluations left out), and the kernels that ran it. */
      stepMs: number;
      kernels: string;
    }
  | { type: 'error'; message: string }
);
