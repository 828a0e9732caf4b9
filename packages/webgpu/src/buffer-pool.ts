// Storage buffers are expensive to create and the ops of a training step ask for the same few sizes over and
// over: freed buffers wait here, by size class (powers of two), for the next request of their class.

const USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** Reuses GPU storage buffers by size class; holds at most `maxPooledBytes` of free buffers. */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #free = new Map<number, GPUBuffer[]>();
  #pooledBytes = 0;

  constructor(
    device: GPUDevice,
    readonly maxPooledBytes = 512 * 1024 * 1024,
  ) {
    this.#device = device;
  }

  /** The size class of a request: the next power of two of at least 16 bytes. */
  static sizeClass(bytes: number): number {
    return Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
  }

  /** A storage buffer of at least `bytes` (its contents are undefined: every kernel writes what it outputs). */
  acquire(bytes: number): GPUBuffer {
    const size = BufferPool.sizeClass(bytes);
    const reused = this.#free.get(size)?.pop();
    if (reused !== undefined) {
      this.#pooledBytes -= size;
      return reused;
    }
    return this.#device.createBuffer({ size, usage: USAGE });
  }

  /** Gives a buffer back for reuse (work already queued on it stays ordered before any later use). */
  release(buffer: GPUBuffer): void {
    if (this.#pooledBytes + buffer.size > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    let list = this.#free.get(buffer.size);
    if (list === undefined) {
      list = [];
      this.#free.set(buffer.size, list);
    }
    list.push(buffer);
    this.#pooledBytes += buffer.size;
  }

  /** Bytes held by free buffers. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** Destroys every free buffer. */
  clear(): void {
    for (const list of this.#free.values()) for (const buffer of list) buffer.destroy();
    this.#free.clear();
    this.#pooledBytes = 0;
  }
}
