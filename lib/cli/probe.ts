// streamcoder probe <input|url>: what the Decoder sees in a source.
import { Decoder } from '../decoder';
import { redactUrl } from '../redact';
import { MAX_TIMEOUT_MS } from '../validate';
import type { CommandSpec } from './args';
import { COMMON_OPTIONS, INPUT_OPTIONS, type CommandContext } from './common';

export const probeSpec: CommandSpec = {
  name: 'probe',
  summary: "Print the video stream's information: codec, size, pixel format, frame rate, duration...",
  usage: 'streamcoder probe <input|url> [--json] [--timeout 10000] [--probe 1]',
  positionals: ['input'],
  options: {
    timeout: { type: 'integer', description: 'ms to wait for a network source', default: 10000, min: 1, max: MAX_TIMEOUT_MS },
    probe: INPUT_OPTIONS.probe,
    ...COMMON_OPTIONS,
  },
};

export async function probe({ positionals, options, out }: CommandContext): Promise<void> {
  const [input] = positionals;
  const probe = options.probe as number | undefined;
  const decoder = await Decoder.open(input, {
    timeoutMs: options.timeout as number,
    ...(probe !== undefined ? { formatOptions: { analyzeduration: String(Math.round(probe * 1e6)) } } : {}),
  });
  const info = decoder.info;
  decoder.close();
  if (options.json) {
    // What the source holds, as the table shows: the probing Decoder's own output (its default
    // rgb24) is not the file's pixel format, and its size is the source's since it does not scale.
    const json = { source: redactUrl(input), ...info, width: info.sourceWidth, height: info.sourceHeight, pixelFormat: info.sourcePixelFormat };
    out.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const rows: [string, string][] = [
    ['source', redactUrl(input)],
    ['format', info.format],
    ['codec', info.codec],
    ['size', `${info.sourceWidth}x${info.sourceHeight}`],
    ['pixel format', info.sourcePixelFormat],
    ['frame rate', info.frameRate.num > 0 ? `${info.frameRate.num}/${info.frameRate.den} (${(info.frameRate.num / info.frameRate.den).toFixed(3)} fps)` : 'unknown'],
    ['time base', `${info.timeBase.num}/${info.timeBase.den}`],
    ['start time', info.startTime === null ? 'unknown' : `${info.startTime.toFixed(3)} s`],
    ['duration', info.duration === null ? 'unknown' : `${info.duration.toFixed(3)} s`],
    ['frames', info.frameCount === null ? 'unknown' : String(info.frameCount)],
    ['bit rate', info.bitRate === null ? 'unknown' : `${(info.bitRate / 1000).toFixed(0)} kbit/s`],
    ['stream index', String(info.streamIndex)],
  ];
  for (const [name, value] of rows) out.write(`${name.padEnd(14)} ${value}\n`);
}
