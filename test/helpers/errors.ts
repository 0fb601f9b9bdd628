// The library's errors, caught in tests: each helper fails the test unless what was thrown (or
// rejected) is a StreamcoderError, and gives it back for the test's own checks.
import { expect } from 'vitest';
import { StreamcoderError } from '../../lib';

/** The StreamcoderError `call` throws. */
export function caught(call: () => unknown): StreamcoderError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(StreamcoderError);
    return error as StreamcoderError;
  }
  throw new Error('expected an error');
}

/** The StreamcoderError `promise` rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<StreamcoderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StreamcoderError);
    return error as StreamcoderError;
  }
  throw new Error('expected a rejection');
}

/** `call` throws a StreamcoderError of `code` (and a message matching `message`). */
export function expectError(call: () => unknown, code: string, message?: RegExp): StreamcoderError {
  const error = caught(call);
  expect(error.code, error.message).toBe(code);
  if (message) expect(error.message).toMatch(message);
  return error;
}
