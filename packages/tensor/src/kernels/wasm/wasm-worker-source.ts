/**
 * The source of a kernel worker (plain ES2017, no imports): run as `new Worker(src, { eval: true })` by
 * Node's worker_threads, or from a Blob URL as a classic Web Worker. It receives
 * { module, memory, control, index }, instantiates the threads build of the kernels on the shared
 * memory, answers 'ready', then serves jobs through its slot of the control block:
 *   slot = Int32Array at control + index·SLOT_BYTES: [state, kind, args…]
 *   state 0 idle → 1 (set by the main thread: run) → 2 done | 3 failed; −1 exit.
 *   kind 1: matmulRows(11 ints); kind 2: attentionForward(23 args, the 12th a float32);
 *   kind 3: attentionBackward(27 args, the 16th a float32).
 */
export const WORKER_SOURCE = `
'use strict';
var SLOT_INTS = 32;
function start(init, post) {
  var exports = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
  var ints = new Int32Array(init.memory.buffer);
  var floats = new Float32Array(init.memory.buffer);
  var slot = (init.control >> 2) + init.index * SLOT_INTS;
  post('ready');
  for (;;) {
    var state = Atomics.load(ints, slot);
    if (state === -1) return;
    if (state !== 1) {
      Atomics.wait(ints, slot, state); // idle, or done and not yet acknowledged
      continue;
    }
    var a = slot + 2;
    try {
      if (ints[slot + 1] === 1) {
        exports.matmulRows(ints[a], ints[a + 1], ints[a + 2], ints[a + 3], ints[a + 4], ints[a + 5], ints[a + 6], ints[a + 7], ints[a + 8], ints[a + 9], ints[a + 10]);
      } else if (ints[slot + 1] === 2) {
        exports.attentionForward(ints[a], ints[a + 1], ints[a + 2], ints[a + 3], ints[a + 4], ints[a + 5], ints[a + 6], ints[a + 7], ints[a + 8], ints[a + 9], ints[a + 10],
          floats[a + 11], ints[a + 12], ints[a + 13], ints[a + 14], ints[a + 15], ints[a + 16], ints[a + 17], ints[a + 18], ints[a + 19], ints[a + 20], ints[a + 21], ints[a + 22]);
      } else {
        exports.attentionBackward(ints[a], ints[a + 1], ints[a + 2], ints[a + 3], ints[a + 4], ints[a + 5], ints[a + 6], ints[a + 7], ints[a + 8], ints[a + 9],
          ints[a + 10], ints[a + 11], ints[a + 12], ints[a + 13], ints[a + 14], floats[a + 15], ints[a + 16], ints[a + 17], ints[a + 18], ints[a + 19],
          ints[a + 20], ints[a + 21], ints[a + 22], ints[a + 23], ints[a + 24], ints[a + 25], ints[a + 26]);
      }
      Atomics.store(ints, slot, 2);
    } catch (error) {
      Atomics.store(ints, slot, 3);
    }
    Atomics.notify(ints, slot);
  }
}
if (typeof require === 'function') {
  var port = require('worker_threads').parentPort;
  port.once('message', function (init) { start(init, function (m) { port.postMessage(m); }); });
} else {
  self.onmessage = function (event) { self.onmessage = null; start(event.data, function (m) { self.postMessage(m); }); };
}
`;
