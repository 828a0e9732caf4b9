// Test-only helper (exported from @heed/tensor/testing): asserts a call throws an instance of a class, returns it.

/** Runs `fn`, expects it to throw an instance of `errorClass` and returns the error for field checks. */
export function expectThrows<E extends Error>(fn: () => unknown, errorClass: abstract new (...args: never[]) => E): E {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error(`expected a ${errorClass.name} to be thrown, but nothing was thrown`);
  if (!(caught instanceof errorClass)) {
    throw new Error(`expected a ${errorClass.name} to be thrown, got ${String(caught)}`);
  }
  return caught;
}
