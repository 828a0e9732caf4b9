import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { SLOT_INTS, WASM_ABI, WASM_ENTRY_NAMES, wasmCall, WORKER_ENTRIES, type WasmArgument } from './abi';
import { loadWasmKernels } from './load-wasm-kernels';

// The ABI table must say exactly what assembly/index.ts exports: read the AssemblyScript signatures
// (the source of truth the compiler uses) and the instantiated module, and compare.

const assembly = (file: string) => readFileSync(new URL(`../../../assembly/${file}`, import.meta.url), 'utf8');
const AS_TYPE: Record<string, WasmArgument['type']> = { usize: 'ptr', i32: 'i32', f32: 'f32', bool: 'bool' };

/** name -> [argument types, return type] of every function assembly/index.ts re-exports. */
function assemblySignatures(): Map<string, [string[], string]> {
  const signatures = new Map<string, [string[], string]>();
  for (const [, names, file] of assembly('index.ts').matchAll(/export \{([^}]*)\} from '\.\/([\w-]+)'/g)) {
    const source = assembly(`${file}.ts`);
    for (const name of names!.split(',').map((s) => s.trim())) {
      const match = new RegExp(`export function ${name}\\(([^)]*)\\):\\s*(\\w+)`).exec(source);
      if (!match) throw new Error(`assembly/${file}.ts has no export function ${name}`);
      const types = match[1]!
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((s) => AS_TYPE[s.split(':')[1]!.trim()] ?? `unknown ${s}`);
      signatures.set(name, [types, match[2] === 'void' ? 'void' : 'i32']);
    }
  }
  return signatures;
}

describe('the WebAssembly ABI table', () => {
  test('lists every export of assembly/index.ts with its argument types in order and its result', () => {
    const signatures = assemblySignatures();
    expect([...signatures.keys()].sort()).toEqual([...WASM_ENTRY_NAMES].sort());
    for (const name of WASM_ENTRY_NAMES) {
      const [types, returns] = signatures.get(name)!;
      expect({ name, types: WASM_ABI[name].args.map((a: WasmArgument) => a.type), returns: WASM_ABI[name].returns }).toEqual({
        name,
        types,
        returns,
      });
    }
  });

  test('the instantiated module exports each entry point with the described arity', async () => {
    const wasm = (await loadWasmKernels({ relaxedSimd: false }))!;
    for (const name of WASM_ENTRY_NAMES)
      expect([name, (wasm.exports[name] as (...args: number[]) => unknown).length]).toEqual([name, WASM_ABI[name].args.length]);
  });

  test('names are unique per entry point; addresses carry a role; the slot holds the longest call', () => {
    for (const name of WASM_ENTRY_NAMES) {
      const args = WASM_ABI[name].args as readonly WasmArgument[];
      expect(new Set(args.map((a) => a.name)).size).toBe(args.length);
      for (const a of args) expect(a.type === 'ptr').toBe(a.role !== undefined);
      expect(2 + args.length).toBeLessThanOrEqual(SLOT_INTS);
    }
    expect(SLOT_INTS % 16).toBe(0);
    expect(WORKER_ENTRIES.find(([name]) => name === 'attentionForward')![1]).toBe('iiiiiiiiiiiifiiiiiiiiiiiii'); // the scale is the one float
  });

  test('wasmCall puts named arguments in ABI order, booleans as 0/1', () => {
    const call = wasmCall('matmulRows', {
      a: 64,
      b: 128,
      out: 256,
      m: 3,
      n: 4,
      k: 5,
      transposeA: true,
      transposeB: false,
      bias: 320,
      work: 512,
      rowStart: 0,
      rowEnd: 3,
    });
    expect(call).toEqual({ entry: 'matmulRows', args: [64, 128, 256, 3, 4, 5, 1, 0, 320, 512, 0, 3] });
  });
});
