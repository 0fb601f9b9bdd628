// Runs in every test process of `npm run test:asan` before its tests: refuses to go on unless the
// process really has the sanitizer runtime and the ASan addon, so that a mistake in the set-up
// can never pass as a clean ASan run of the ordinary addon.
import fs from 'node:fs';
import { native } from '../../lib/binding';

const maps = fs.readFileSync('/proc/self/maps', 'utf8');
const expected = process.env.STREAMCODER_NATIVE;
// An ASan build calls __asan_init when it loads; an ordinary one has no such name in it.
const instrumented = expected !== undefined && fs.existsSync(expected) && fs.readFileSync(expected).includes('__asan_init');
if (!expected || !instrumented || !maps.includes(expected) || !/libasan\.so/.test(maps) || typeof native.Decoder !== 'function') {
  throw new Error(`not an ASan test process: STREAMCODER_NATIVE=${expected}; loaded: ${
    [...new Set(maps.split('\n').map((line) => line.split(/\s+/)[5]).filter((file) => /streamcoder|asan/.test(file ?? '')))].join(', ')}`);
}
