// The open/openSync pair every native object shares: open once, then use; close frees at once.
import { withCallerStack } from './errors';

/** What every native object has: an open pair, and a way to free it at once. */
interface Openable {
  open(): Promise<void>;
  openSync(): void;
}

/**
 * Opens a fresh native handle off the event loop; if opening fails, the handle is freed before
 * the error propagates, so nothing is left half-open.
 */
export async function openHandle<T extends Openable>(handle: T, free: (handle: T) => void): Promise<T> {
  try {
    await withCallerStack(() => handle.open());
  } catch (error) {
    free(handle);
    throw error;
  }
  return handle;
}

/** `openHandle` on this thread (blocking). */
export function openHandleSync<T extends Openable>(handle: T, free: (handle: T) => void): T {
  try {
    handle.openSync();
  } catch (error) {
    free(handle);
    throw error;
  }
  return handle;
}
