// A Uint8Array whose last byte is the last one the process may touch: it ends where a
// WebAssembly.Memory's accessible pages end, and V8 keeps what follows inaccessible. A native read
// or write past the end of such a buffer crashes the process instead of passing unnoticed, as it
// would in the slack of an ordinary allocation.
const WASM_PAGE = 65536;

export function bufferAtMemoryEnd(bytes: number): Uint8Array {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE) });
  return new Uint8Array(memory.buffer, memory.buffer.byteLength - bytes, bytes);
}
