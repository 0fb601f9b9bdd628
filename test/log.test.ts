// FFmpeg's log through the library: levels, a JS callback fed from FFmpeg's threads, masking.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { Decoder, onLog, setLogLevel, StreamcoderError, type LogLevel } from '../lib';

afterEach(() => {
  onLog(null);
  setLogLevel('quiet');
});

test('onLog receives FFmpeg lines at the level set, with credentials masked; null stops it', async () => {
  const lines: [LogLevel, string][] = [];
  setLogLevel('error');
  onLog((level, line) => lines.push([level, line]));
  await expect(Decoder.open('rtsp://alice:hunter2@127.0.0.1:1/cam', { timeoutMs: 2000 })).rejects.toBeInstanceOf(StreamcoderError);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.every(([level]) => level === 'error')).toBe(true);
  expect(lines.some(([, line]) => line.includes('Connection refused'))).toBe(true);
  expect(JSON.stringify(lines)).not.toContain('hunter2');

  onLog(null);
  const before = lines.length;
  await expect(Decoder.open('rtsp://127.0.0.1:1/cam', { timeoutMs: 2000 })).rejects.toBeInstanceOf(StreamcoderError);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(lines.length).toBe(before);
});

test('quiet delivers nothing; debug delivers more', async () => {
  const lines: string[] = [];
  onLog((_level, line) => lines.push(line));
  setLogLevel('quiet');
  await expect(Decoder.open('tcp://127.0.0.1:1', { timeoutMs: 1000 })).rejects.toBeInstanceOf(StreamcoderError);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(lines).toEqual([]);
  setLogLevel('debug');
  await expect(Decoder.open('tcp://127.0.0.1:1', { timeoutMs: 1000 })).rejects.toBeInstanceOf(StreamcoderError);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(lines.length).toBeGreaterThan(1);
});

test('bad levels and callbacks are rejected', () => {
  expect(() => setLogLevel('loud' as never)).toThrow(/Expected one of quiet, panic, fatal, error, warning, info, verbose, debug, trace for level/);
  expect(() => onLog('yes' as never)).toThrow(StreamcoderError);
});

test('a log callback alone does not keep the process alive', () => {
  const script = `const { onLog, setLogLevel } = require(${JSON.stringify(path.join(__dirname, '../dist/index.js'))}); setLogLevel('debug'); onLog(() => {}); console.log('done');`;
  const started = Date.now();
  expect(String(execFileSync('node', ['-e', script], { timeout: 10_000 })).trim()).toBe('done');
  expect(Date.now() - started).toBeLessThan(5000);
});
