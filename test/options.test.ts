// Unknown option keys are refused with the name the caller most likely meant: a misspelt option
// (`bitrate`, `gop`, `fps`) would otherwise do nothing at all.
import { describe, expect, test } from 'vitest';
import { Client, Decoder, Encoder, Server, StreamcoderError, pipeline } from '../lib';
import { suggestOption } from '../lib/validate';
import { fixture } from './helpers/fixtures';

const input = fixture('h264-bframes.mp4');
const size = { width: 64, height: 48 };

async function refusal(run: () => unknown): Promise<StreamcoderError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(StreamcoderError);
    return error as StreamcoderError;
  }
  throw new Error('expected a refusal');
}

const cases: [string, () => unknown, RegExp][] = [
  ['Server.open bitrate', () => Server.open('rtmp://127.0.0.1:1/live/x', { ...size, bitrate: '1M' } as never), /^Unknown option 'bitrate' for Server\.open; did you mean 'bitRate'\?$/],
  ['Server.open gop', () => Server.open('rtmp://127.0.0.1:1/live/x', { ...size, gop: 50 } as never), /'gop' for Server\.open; did you mean 'gopSize'\?/],
  ['Server.openSync bframes', () => Server.openSync('rtmp://127.0.0.1:1/live/x', { ...size, bframes: 0 } as never), /'bframes' for Server\.openSync; did you mean 'maxBFrames'\?/],
  ['Encoder.open fps', () => Encoder.open('/tmp/never.mp4', { ...size, fps: 10 } as never), /'fps' for Encoder\.open; did you mean 'frameRate'\?/],
  ['Encoder.openSync typo', () => Encoder.openSync('/tmp/never.mp4', { ...size, presett: 'fast' } as never), /'presett' for Encoder\.openSync; did you mean 'preset'\?/],
  ['Encoder.open libav option', () => Encoder.open('/tmp/never.mp4', { ...size, profile: 'high' } as never), /'profile' for Encoder\.open \(libav options go in codecOptions or formatOptions\)/],
  ['Decoder.open fps', () => Decoder.open(input, { fps: 10 } as never), /^Unknown option 'fps' for Decoder\.open \(/],
  ['Decoder.open case', () => Decoder.open(input, { pixelformat: 'rgb24' } as never), /'pixelformat' for Decoder\.open; did you mean 'pixelFormat'\?/],
  ['Decoder.openSync timeout', () => Decoder.openSync(input, { timeout: 100 } as never), /'timeout' for Decoder\.openSync; did you mean 'timeoutMs'\?/],
  ['Client.open cachesize', () => Client.open('rtsp://127.0.0.1:1/x', { cachesize: 4 } as never), /'cachesize' for Client\.open; did you mean 'cacheSize'\?/],
  ['Client.openSync reconnect', () => Client.openSync('rtsp://127.0.0.1:1/x', { reconnect: { retry: 2 } } as never), /'retry' for Client\.openSync reconnect; did you mean 'retries'\?/],
  ['Client.open backoff', () => Client.open('rtsp://127.0.0.1:1/x', { reconnect: { backofMs: 2 } } as never), /'backofMs' for Client\.open reconnect; did you mean 'backoffMs'\?/],
  ['pipeline top level', () => pipeline({ input, output: '/tmp/never.flv', frames: 3 } as never), /'frames' for pipeline; did you mean 'maxFrames'\?/],
  ['pipeline decoder', () => pipeline({ input, output: '/tmp/never.flv', decoder: { widht: 64 } } as never), /'widht' for pipeline decoder; did you mean 'width'\?/],
  ['pipeline server', () => pipeline({ input, output: '/tmp/never.flv', server: { bitrate: '1M' } } as never), /'bitrate' for pipeline server; did you mean 'bitRate'\?/],
];

describe('unknown option keys', () => {
  test.each(cases)('%s', async (_name, run, message) => {
    const error = await refusal(run);
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.message).toMatch(message);
  });

  test('nothing close: the known names are listed', async () => {
    const error = await refusal(() => pipeline({ input, output: '/tmp/never.flv', zzzzzz: 1 } as never));
    expect(error.message).toMatch(/^Unknown option 'zzzzzz' for pipeline \(known: input, output, /);
  });

  test('pipeline still refuses server.width with its reason', async () => {
    const error = await refusal(() => pipeline({ input, output: '/tmp/never.flv', server: { width: 64 } } as never));
    expect(error.message).toMatch(/server\.width/);
  });

  test('known keys, even undefined, open as before', () => {
    const dec = Decoder.openSync(input, { width: 64, transport: undefined, threads: 1 });
    expect(dec.info.width).toBe(64);
    dec.close();
  });

  test.each([
    ['bitrate', 'bitRate'], ['GOPSIZE', 'gopSize'], ['gop', 'gopSize'], ['fps', 'frameRate'], ['bframes', 'maxBFrames'],
    ['codc', 'codec'], ['frameRtae', 'frameRate'], ['bitR', 'bitRate'], ['maxBitrate', 'maxBitRate'], ['x', undefined], ['quality', undefined],
  ] as const)('suggestOption(%s) is %s', (key, expected) => {
    const known = ['bitRate', 'gopSize', 'frameRate', 'maxBFrames', 'codec', 'maxBitRate', 'crf'];
    expect(suggestOption(key, known)).toBe(expected);
  });
});
