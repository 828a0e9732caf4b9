// The ABI of the WebAssembly kernel module (assembly/index.ts), described once. Everything that
// crosses the boundary derives from this table: the exports' TypeScript types, the marshalling of
// named arguments into the positional call, the packing of a call into a worker's control slot, the
// table a worker dispatches on, and the slot size. abi.test.ts checks it against assembly/*.ts.
// All addresses are byte offsets into the module's memory; shape letters as in `AttentionProblem`.

/** How an argument crosses: a byte address (i32), an int32, a float32, or a boolean passed as 0/1. */
export type WasmArgumentType = 'ptr' | 'i32' | 'f32' | 'bool';
/** What the kernel does with the memory behind an address: reads it, writes it, both, or uses it as scratch. */
export type WasmPointerRole = 'in' | 'out' | 'inout' | 'work';

export interface WasmArgument<Name extends string = string, Type extends WasmArgumentType = WasmArgumentType> {
  readonly name: Name;
  readonly type: Type;
  /** For addresses: the role of the memory behind it. */
  readonly role?: WasmPointerRole;
  /** For addresses: the float32 array stored there, e.g. 'q [n, Lq, d]'; for numbers: what they mean. */
  readonly layout: string;
}

export interface WasmEntryPoint {
  readonly args: readonly WasmArgument[];
  /** 'void', or an int32 result (sizes, addresses). */
  readonly returns: 'void' | 'i32';
}

const ptr = <N extends string>(name: N, role: WasmPointerRole, layout: string) => ({ name, type: 'ptr', role, layout }) as const;
const i32 = <N extends string>(name: N, layout: string) => ({ name, type: 'i32', layout }) as const;
const f32 = <N extends string>(name: N, layout: string) => ({ name, type: 'f32', layout }) as const;
const bool = <N extends string>(name: N, layout: string) => ({ name, type: 'bool', layout }) as const;

const matmulArgs = [
  ptr('a', 'in', 'A [m, k], or stored [k, m] with transposeA'),
  ptr('b', 'in', 'B [k, n], or stored [n, k] with transposeB'),
  ptr('out', 'out', 'out [m, n] (overwritten)'),
  i32('m', 'rows of out'),
  i32('n', 'columns of out'),
  i32('k', 'inner size'),
  bool('transposeA', 'A is stored [k, m]'),
  bool('transposeB', 'B is stored [n, k]'),
  ptr('bias', 'in', 'bias [n] added to every row of out (28 bytes of memory after it), or 0 for none'),
  ptr('work', 'work', 'matmulWorkBytes() bytes of packed panels'),
] as const;

/** The operands both attention entry points read first. */
const attentionOperands = [ptr('q', 'in', 'q [n, Lq, d]'), ptr('k', 'in', 'k [nKv, Lk, d]'), ptr('v', 'in', 'v [nKv, Lk, dv]')] as const;

/** Masking, sizes and layout shared by the attention forward and backward. */
const attentionProblemArgs = [
  i32('n', 'slices of q (batch·heads)'),
  i32('queryLength', 'Lq'),
  i32('keyLength', 'Lk'),
  i32('headDim', 'd'),
  i32('valueDim', 'dv'),
  f32('scale', 'multiplies q·k'),
  bool('causal', 'apply the causal rule j ≤ i + causalOffset'),
  i32('causalOffset', 'clamped to [−Lq − 1, Lk]'),
  bool('windowed', 'apply the window rule j ≥ i + windowStart'),
  i32('windowStart', 'clamped to [−Lq, Lk]'),
  i32('maskSliceStride', 'attention mask stride over slices (0 broadcasts)'),
  i32('maskQueryStride', 'attention mask stride over queries'),
  i32('maskKeyStride', 'attention mask stride over keys'),
  i32('groupSize', 'q slices per k/v slice (GQA)'),
  i32('queryHeads', "slices interleaved per row of q, out: H with layout 'sequence-first', else 1"),
  i32('keyHeads', "slices interleaved per row of k, v: H / groupSize with layout 'sequence-first', else 1"),
  ptr('work', 'work', 'this thread’s work area'),
  i32('first', 'first share this thread takes (query panels forward, k/v slices backward)'),
  i32('step', 'threads: takes shares first, first + step, …'),
] as const;

/** Every export of the kernel module. Argument order is the AssemblyScript signature's. */
export const WASM_ABI = {
  heapBase: { args: [], returns: 'i32' },
  tileRows: { args: [], returns: 'i32' },
  matmulWorkBytes: { args: [], returns: 'i32' },
  matmul: { args: matmulArgs, returns: 'void' },
  matmulRows: {
    args: [...matmulArgs, i32('rowStart', 'first row of out to compute'), i32('rowEnd', 'row after the last')],
    returns: 'void',
  },
  expInPlace: { args: [ptr('data', 'inout', 'x [length]: e^x in place'), i32('length', 'elements')], returns: 'void' },
  expNonPositiveInPlace: {
    args: [ptr('data', 'inout', 'x [length], x ≤ 0: e^x in place (the softmax weights’ exp)'), i32('length', 'elements')],
    returns: 'void',
  },
  attentionWorkBytes: { args: [i32('keyLength', 'Lk'), i32('headDim', 'd'), i32('valueDim', 'dv')], returns: 'i32' },
  attentionForward: {
    args: [
      ...attentionOperands,
      ptr('out', 'out', 'out [n, Lq, dv]'),
      ptr('logSumExp', 'out', 'logSumExp [n, Lq]'),
      ptr('attentionMask', 'in', 'attention mask read through its strides, or 0 for none'),
      ptr('variants', 'inout', 'the score variants’ header (assembly/attention-variants.ts), or 0 for none'),
      ...attentionProblemArgs,
    ],
    returns: 'void',
  },
  attentionBackwardWorkBytes: { args: [i32('keyLength', 'Lk'), i32('headDim', 'd'), i32('valueDim', 'dv')], returns: 'i32' },
  attentionBackward: {
    args: [
      ...attentionOperands,
      ptr('out', 'in', 'out [n, Lq, dv] of the forward'),
      ptr('logSumExp', 'in', 'logSumExp [n, Lq] of the forward'),
      ptr('dOut', 'in', 'dOut [n, Lq, dv]'),
      ptr('dq', 'out', 'dq [n, Lq, d] (overwritten)'),
      ptr('dk', 'out', 'dk [nKv, Lk, d] (overwritten)'),
      ptr('dv', 'out', 'dv [nKv, Lk, dv] (overwritten)'),
      ptr('attentionMask', 'in', 'attention mask read through its strides, or 0 for none'),
      ptr('variants', 'inout', 'the score variants’ header (assembly/attention-variants.ts), or 0 for none'),
      ...attentionProblemArgs,
    ],
    returns: 'void',
  },
} as const satisfies Record<string, WasmEntryPoint>;

export type WasmEntryName = keyof typeof WASM_ABI;

type ArgumentsOf<E extends WasmEntryName> = (typeof WASM_ABI)[E]['args'];
type JsValue<T extends WasmArgumentType> = T extends 'bool' ? boolean : number;

/** The named arguments of an entry point, e.g. `{ a, b, out, m, n, k, transposeA, transposeB, work }` for matmul. */
export type WasmArguments<E extends WasmEntryName> = { [A in ArgumentsOf<E>[number] as A['name']]: JsValue<A['type']> };

type Positional<Args extends readonly unknown[]> = { -readonly [I in keyof Args]: number };
type ResultOf<E extends WasmEntryName> = (typeof WASM_ABI)[E]['returns'] extends 'i32' ? number : void;

/** What the instantiated module exports, typed from the table (booleans as 0/1). */
export type WasmKernelExports = { [E in WasmEntryName]: (...args: Positional<ArgumentsOf<E>>) => ResultOf<E> };

/** The entry points in a fixed order: a job's kind is the index of its entry point here. */
export const WASM_ENTRY_NAMES = Object.keys(WASM_ABI) as WasmEntryName[];

/** One call of an entry point, its arguments in ABI order (booleans as 0/1): what a worker runs. */
export interface WasmCall {
  entry: WasmEntryName;
  args: readonly number[];
}

/** Named arguments -> the positional call, in the order the table gives. */
export function wasmCall<E extends WasmEntryName>(entry: E, named: WasmArguments<E>): WasmCall {
  const values = named as Readonly<Record<string, number | boolean>>;
  const args = WASM_ABI[entry].args.map((a: WasmArgument) => {
    const value = values[a.name]!;
    return typeof value === 'boolean' ? (value ? 1 : 0) : value;
  });
  return { entry, args };
}

/** Runs a call on the module. */
export function invoke(exports: WasmKernelExports, call: WasmCall): number | void {
  return (exports[call.entry] as (...args: readonly number[]) => number | void)(...call.args);
}

/** Int32 slots per thread in the control block: state, kind, then the longest argument list; a whole number of 64-byte lines. */
export const SLOT_INTS = Math.ceil((2 + Math.max(...WASM_ENTRY_NAMES.map((e) => WASM_ABI[e].args.length))) / 16) * 16;

/**
 * What a worker dispatches on: per kind, the entry point's name and its argument types as a string of
 * 'f' (read the slot as float32) and 'i' (as int32).
 */
export const WORKER_ENTRIES: readonly (readonly [string, string])[] = WASM_ENTRY_NAMES.map(
  (e) => [e, WASM_ABI[e].args.map((a: WasmArgument) => (a.type === 'f32' ? 'f' : 'i')).join('')] as const,
);

/** Writes a call into a control slot: kind at `slot + 1`, arguments from `slot + 2` (float32 where the table says so). */
export function packCall(ints: Int32Array, floats: Float32Array, slot: number, call: WasmCall): void {
  const description = WASM_ABI[call.entry].args as readonly WasmArgument[];
  ints[slot + 1] = WASM_ENTRY_NAMES.indexOf(call.entry);
  for (let i = 0; i < description.length; i++) {
    if (description[i]!.type === 'f32') floats[slot + 2 + i] = call.args[i]!;
    else ints[slot + 2 + i] = call.args[i]!;
  }
}
