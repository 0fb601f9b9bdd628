// What an operator asks for when creating a stream: the request body's JSON schema (checked by
// fastify's Ajv before any handler runs), and the checks a schema cannot make (which URL schemes,
// which directory). The spec kept and persisted is the body as given, URLs unmasked: only the
// service and its stream runners ever see it; every answer masks it (see view.ts).
import Ajv from 'ajv';
import fs from 'node:fs';
import path from 'node:path';
import { bitsPerSecond, confinementOf, filePathOf, PROTOCOL_WHITELIST, schemeOf, type RunBounds } from './spec-values';

export { bitsPerSecond, confinementOf, filePathOf, PROTOCOL_WHITELIST, type RunBounds } from './spec-values';

export interface OutputSpec {
  /** Where to push: rtmp://, rtmps://, rtsp:// or srt:// (the service writes no files). */
  url: string;
  /** "1280x720": the pictures are scaled to this size before encoding. */
  size?: string;
  /** Video bits per second: 2500000, "2500k" or "2.5M". */
  bitrate?: number | string;
  /** x264/x265 preset (default: the library's, veryfast). */
  preset?: string;
  /** Video encoder (default libx264). */
  codec?: string;
}

export interface StreamSpec {
  id: string;
  input: string;
  outputs: OutputSpec[];
  loop?: boolean;
  realtime?: boolean;
  audio?: boolean;
  /**
   * Seconds of the input read to learn its streams (default: 1 for live inputs, FFmpeg's 5 for
   * files). A live source that announces streams not yet seen is probed on for longer anyway.
   */
  probe?: number;
  /**
   * A channel that never goes dark: inputs that stand in for `input` (checked as it is), an
   * image or clip on air while none delivers (a file in an allowed directory), the seconds
   * without a picture after which the input on air has failed, and whether an earlier input
   * replaces a later one once it delivers again (see pipeline()'s fallbacks).
   */
  fallbacks?: string[];
  slate?: string;
  inputTimeout?: number;
  switchBack?: boolean;
}

/** Fallback inputs a stream may have. */
export const MAX_FALLBACKS = 4;

export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const MAX_URL_LENGTH = 2048;
/** Outputs a stream may have: each is a thread of its stream's process, fed from one decode. */
export const MAX_OUTPUTS_IN_SCHEMA = 8;
export const PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;
export const CODECS = ['libx264', 'libx265'] as const;

/**
 * A URL without control characters (a newline would forge a log line) or white space (after a
 * space, FFmpeg's rtmp takes librtmp-style options, a listener or a credential among them).
 */
export const NO_CONTROL_OR_SPACE = '^[^\\u0000-\\u0020\\u007f]+$';
/** The bit rates a stream may ask, as a number or a string ('2500k', '2.5M'). */
export const MIN_BIT_RATE = 10_000;
export const MAX_BIT_RATE = 200_000_000;

/** POST /v1/streams: the body. Unknown properties are faults (a typo must not be ignored). */
export const createStreamSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['input', 'outputs'],
  properties: {
    id: { type: 'string', pattern: ID_PATTERN },
    input: { type: 'string', minLength: 1, maxLength: MAX_URL_LENGTH, pattern: NO_CONTROL_OR_SPACE },
    outputs: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_OUTPUTS_IN_SCHEMA,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          url: { type: 'string', minLength: 1, maxLength: MAX_URL_LENGTH, pattern: NO_CONTROL_OR_SPACE },
          size: { type: 'string', pattern: '^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$' },
          bitrate: {
            anyOf: [
              { type: 'integer', minimum: MIN_BIT_RATE, maximum: MAX_BIT_RATE },
              { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?[kM]?$' },
            ],
          },
          preset: { type: 'string', enum: PRESETS },
          codec: { type: 'string', enum: CODECS },
        },
      },
    },
    loop: { type: 'boolean' },
    realtime: { type: 'boolean' },
    audio: { type: 'boolean' },
    probe: { type: 'number', minimum: 0.01, maximum: 60 },
    fallbacks: {
      type: 'array',
      maxItems: MAX_FALLBACKS,
      items: { type: 'string', minLength: 1, maxLength: MAX_URL_LENGTH, pattern: NO_CONTROL_OR_SPACE },
    },
    slate: { type: 'string', minLength: 1, maxLength: MAX_URL_LENGTH, pattern: NO_CONTROL_OR_SPACE },
    inputTimeout: { type: 'number', minimum: 0.1, maximum: 600 },
    switchBack: { type: 'boolean' },
  },
} as const;

/** Where inputs may come from. */
export interface InputPolicy {
  /** URL schemes an input may use (without "://"); "file" admits paths under `directories`. */
  schemes: readonly string[];
  /** Real paths of the directories file inputs must lie in. */
  directories: readonly string[];
  /** The most pixels an output's `size` may ask (default {@link DEFAULT_MAX_OUTPUT_PIXELS}). */
  maxOutputPixels?: number;
  /** The most pixels a second a stream's outputs may encode together (checked when its input is open). */
  maxPixelRate?: number;
  /** The largest input picture a stream may decode, in pixels. */
  maxInputPixels?: number;
}


/** One 4K output at 60 fps, or eight 1080p ones at 30. */
export const DEFAULT_MAX_PIXEL_RATE = 3840 * 2160 * 60;
export const DEFAULT_MAX_INPUT_PIXELS = 3840 * 2160;

export function runBounds(spec: StreamSpec, policy: InputPolicy): RunBounds {
  const file = filePathOf(spec.input);
  return {
    confineTo: file === null ? null : confinementOf(file, policy.directories),
    maxPixelRate: policy.maxPixelRate ?? DEFAULT_MAX_PIXEL_RATE,
    maxInputPixels: policy.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS,
    directories: policy.directories,
  };
}

/** 3840x2160: a 4K output at most, unless the operator says otherwise (--max-output-pixels). */
export const DEFAULT_MAX_OUTPUT_PIXELS = 3840 * 2160;

export const DEFAULT_INPUT_SCHEMES = ['file', 'rtmp', 'rtmps', 'rtsp', 'srt', 'http', 'https'] as const;
export const OUTPUT_SCHEMES = ['rtmp', 'rtmps', 'rtsp', 'srt'] as const;





/**
 * The faults of a spec the schema has passed: one message per fault, [] when none. Checks the
 * input's, the fallbacks' and the slate's schemes and, for files, that their real paths (links
 * resolved) lie in an allowed directory and are regular files; the outputs' schemes; duplicate
 * output URLs.
 */
export function specFaults(body: Omit<StreamSpec, 'id'>, policy: InputPolicy): string[] {
  const faults: string[] = [];
  // FFmpeg knows its protocols by lower-case names only ("HTTP://" is "Protocol not found").
  const sources: [string, string][] = [['input', body.input], ...(body.fallbacks ?? []).map((f, i): [string, string] => [`fallbacks[${i}]`, f])];
  if (body.slate !== undefined) sources.push(['slate', body.slate]);
  for (const [field, url] of [...sources, ...body.outputs.map((o, i): [string, string] => [`outputs[${i}].url`, o.url])]) {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1];
    if (scheme && scheme !== scheme.toLowerCase()) faults.push(`${field}: write the scheme in lower case (${scheme.toLowerCase()}://)`);
  }
  if (faults.length) return faults;
  faults.push(...sourceFaults('input', body.input, policy));
  (body.fallbacks ?? []).forEach((fallback, i) => faults.push(...sourceFaults(`fallbacks[${i}]`, fallback, policy)));
  if (body.slate !== undefined) {
    if (filePathOf(body.slate) === null) faults.push('slate: an image or clip file in an allowed directory');
    else faults.push(...sourceFaults('slate', body.slate, policy));
  }
  const failover = body.fallbacks?.length || body.slate !== undefined;
  if (failover && body.loop) faults.push('loop: a looped input has no fallbacks or slate');
  if (!failover && (body.inputTimeout !== undefined || body.switchBack !== undefined)) {
    faults.push(`${body.inputTimeout !== undefined ? 'inputTimeout' : 'switchBack'}: means nothing without fallbacks or a slate`);
  }
  const seen = new Set<string>();
  const maxPixels = policy.maxOutputPixels ?? DEFAULT_MAX_OUTPUT_PIXELS;
  body.outputs.forEach((output, i) => {
    const scheme = schemeOf(output.url);
    if (scheme === null || !(OUTPUT_SCHEMES as readonly string[]).includes(scheme)) {
      faults.push(`outputs[${i}].url: scheme '${scheme ?? '?'}' is not allowed (allowed: ${OUTPUT_SCHEMES.join(', ')})`);
    } else {
      let url: URL | null = null;
      try {
        url = new URL(output.url);
      } catch {
        faults.push(`outputs[${i}].url: not a valid URL`);
      }
      const listens = url ? listenerOption(url) : null;
      if (listens) faults.push(`outputs[${i}].url: the service only connects out; it does not listen (${listens})`);
    }
    if (output.size !== undefined) {
      const [width, height] = output.size.split('x').map(Number);
      if (width * height > maxPixels) faults.push(`outputs[${i}].size: ${output.size} is more than the ${maxPixels} pixels an output may have`);
    }
    if (typeof output.bitrate === 'string') {
      const bits = bitsPerSecond(output.bitrate);
      if (!(bits >= MIN_BIT_RATE && bits <= MAX_BIT_RATE)) faults.push(`outputs[${i}].bitrate: ${output.bitrate} is ${bits} bits per second, not from ${MIN_BIT_RATE} to ${MAX_BIT_RATE}`);
    }
    if (seen.has(output.url)) faults.push(`outputs[${i}].url: the same URL twice`);
    seen.add(output.url);
  });
  return faults;
}

/**
 * The faults of an input, a fallback or the slate (`field`): its scheme allowed and supported;
 * a file by an absolute path whose real path (links resolved) lies in an allowed directory.
 */
function sourceFaults(field: string, input: string, policy: InputPolicy): string[] {
  const faults: string[] = [];
  const file = filePathOf(input);
  if (file !== null) {
    if (!policy.schemes.includes('file')) faults.push(`${field}: files are not allowed (allowed schemes: ` + policy.schemes.join(', ') + ')');
    else if (!path.isAbsolute(file)) faults.push(`${field}: a file ${field === 'input' ? 'input ' : ''}must be an absolute path`);
    else {
      // Outside by its spelling or through a link: one message, whether the file exists or not.
      const outside = `${field}: files must lie in ${policy.directories.length ? policy.directories.join(' or ') : 'an allowed directory (none is configured: --allow-dir)'}`;
      let real: string | null = null;
      if (confinementOf(file, policy.directories) === null) faults.push(outside);
      else {
        try {
          real = fs.realpathSync(file);
        } catch {
          faults.push(`${field}: no such file`);
        }
      }
      if (real !== null) {
        if (confinementOf(real, policy.directories) === null) faults.push(outside);
        else if (!fs.statSync(real).isFile()) faults.push(`${field}: not a regular file`);
      }
    }
  } else {
    const scheme = schemeOf(input);
    if (scheme === null || scheme === 'file' || !policy.schemes.includes(scheme)) {
      faults.push(`${field}: scheme '${scheme ?? '?'}' is not allowed (allowed: ${policy.schemes.join(', ')})`);
    } else if (!PROTOCOL_WHITELIST[scheme]) {
      faults.push(`${field}: scheme '${scheme}' is not supported`);
    }
  }
  return faults;
}

/**
 * The query option of an output URL that would make the stream process listen instead of
 * connecting (srt's `mode=listener` or `rendezvous`, a `listen` option), else null.
 */
function listenerOption(url: URL): string | null {
  for (const [key, value] of url.searchParams) {
    const name = key.toLowerCase();
    if (name === 'mode' && value.toLowerCase() !== 'caller') return `${key}=${value}`;
    if (name === 'listen' || name === 'listen_timeout' || name === 'rtsp_flags') return `${key}=${value}`;
  }
  return null;
}


/** The API's schema with the id the service gave, for a spec read back from the streams file. */
const storedSpecValid = new Ajv({ allErrors: true, strict: false }).compile({ ...createStreamSchema, required: ['id', 'input', 'outputs'] });

/**
 * The faults of a spec read back from the streams file: the API's schema and checks, as if it
 * were posted again (a file that has gone since is the run's failure, not the file's).
 */
export function storedSpecFaults(spec: unknown, policy: InputPolicy): string[] {
  if (!storedSpecValid(spec)) return (storedSpecValid.errors ?? []).map((e) => `${e.instancePath.slice(1).replace(/\//g, '.') || 'spec'} ${e.message}`);
  return specFaults(spec as StreamSpec, policy).filter((fault) => !fault.endsWith(': no such file'));
}
