// The line a child of `pnpm bench --gpu` prints its result on: `RESULT <json>`.
export const RESULT_PREFIX = 'RESULT ';
