// What the runner does with a mutant: passes through the public Decoder API, each a fresh
// Decoder with its own pixel format, output size, read method and (issue 11) audio and copy
// options. Three or four per fuzz mutant (chosen by the mutant's PRNG); every method and format
// for a regression replay.
import type { Random } from './prng';

export const PIXEL_FORMATS = ['rgb24', 'bgr24', 'rgba', 'bgra', 'gray', 'yuv420p'] as const;
export type PixelFormat = (typeof PIXEL_FORMATS)[number];

/**
 * `frame`: extractFrame; `into`: extractFrameInto a buffer that ends where mapped memory ends;
 * `gop`: extractGOP; `read`, `readInto`, `readGop`: their Promise forms. The item methods:
 * `item`: extractItem; `itemInto`: extractItemInto a buffer that ends where mapped memory ends;
 * `readItem`: its Promise form; `iterate`: `for await` (the async iterator, broken off at the cap).
 */
export type Api = 'frame' | 'into' | 'gop' | 'read' | 'readInto' | 'readGop' | 'item' | 'itemInto' | 'readItem' | 'iterate';

export const FRAME_APIS = ['frame', 'into', 'gop', 'read', 'readInto', 'readGop'] as const;
export const ITEM_APIS = ['item', 'itemInto', 'readItem', 'iterate'] as const;
export const SAMPLE_FORMATS = ['f32', 's16'] as const;

/** DecoderOptions.audio as the runner passes it (plain JSON: it crosses to the child in a file). */
export type AudioOption = true | 'copy' | { stream?: number; sampleRate?: number; channels?: number; sampleFormat?: (typeof SAMPLE_FORMATS)[number]; copy?: true };

export interface Pass {
  api: Api;
  pixelFormat: PixelFormat;
  width?: number;
  height?: number;
  threads?: number;
  /** Seconds: seek there after the first frame. */
  seek?: number;
  /** The Decoder's own bounds, small now and then: their refusals must be clean too. */
  maxPixels?: number;
  maxGopBytes?: number;
  /** DecoderOptions.audio; with a frame method the audio must be dropped and counted (audioSkipped). */
  audio?: AudioOption;
  /** DecoderOptions.video: 'copy' (item methods only: the frame methods refuse it). */
  video?: 'copy';
  /** Items (not frames) read before `seek`: a seek while the other stream's items wait in the queues. */
  seekAfter?: number;
  /** itemInto: every other call first with a buffer one byte short (ending at mapped memory's end): ERR_BUFFER_SIZE, the frame kept. */
  short?: boolean;
}

// Output sizes for scaled passes: tiny, odd, and the real-world widths swscale overran at.
const SCALED = [1, 2, 3, 7, 17, 33, 101, 160, 360, 600, 1080];

function scaled(random: Random): Pick<Pass, 'width' | 'height'> {
  if (!random.chance(0.25)) return {};
  const side = random.weighted([['width', 45], ['height', 25], ['both', 30]] as const);
  return {
    ...(side !== 'height' ? { width: random.pick(SCALED) } : {}),
    ...(side !== 'width' ? { height: random.pick(SCALED) } : {}),
  };
}

function common(random: Random): Omit<Pass, 'api'> {
  return {
    pixelFormat: random.pick(PIXEL_FORMATS),
    ...scaled(random),
    ...(random.chance(0.3) ? { threads: random.pick([1, 2, 4]) } : {}),
    ...(random.chance(0.1) ? { seek: random.pick([0, 0.1, 0.25, 0.5, 10]) } : {}),
    ...(random.chance(0.1) ? { maxPixels: random.pick([1, 64, 500, 1024, 4096, 100_000]) } : {}),
    ...(random.chance(0.1) ? { maxGopBytes: random.pick([1, 1000, 5000, 100_000]) } : {}),
  };
}

// Rates and channel counts asked of libswresample: the common ones, the bounds (8 kHz, 384 kHz,
// 64 channels), and odd ones.
const SAMPLE_RATES = [8000, 11025, 16000, 22050, 44100, 48000, 96000, 384000, 12345];
const CHANNELS = [1, 2, 2, 3, 6, 8, 64];

/** An audio option: true, 'copy', or conversions (a second stream now and then: the two-track seed has one). */
export function audioOption(random: Random, streams: number): AudioOption {
  const kind = random.weighted([['true', 25], ['copy', 20], ['convert', 45], ['stream', 10]] as const);
  if (kind === 'true') return true;
  if (kind === 'copy') return 'copy';
  // Mostly a stream there is; now and then one past the last (ERR_INVALID_ARGUMENT naming the streams).
  const stream = kind === 'stream' || random.chance(0.1) ? { stream: random.chance(0.85) ? random.below(Math.max(1, streams)) : streams } : {};
  if (kind === 'stream' && random.chance(0.4)) return { ...stream, copy: true };
  return {
    ...stream,
    ...(random.chance(0.6) ? { sampleRate: random.pick(SAMPLE_RATES) } : {}),
    ...(random.chance(0.5) ? { channels: random.pick(CHANNELS) } : {}),
    ...(random.chance(0.6) ? { sampleFormat: random.pick(SAMPLE_FORMATS) } : {}),
  };
}

/** A pass through the item methods: audio on (mostly), the video decoded or copied, seeks among pending items. */
function itemPass(random: Random, api: (typeof ITEM_APIS)[number], streams: number): Pass {
  const pass: Pass = { api, ...common(random), ...(random.chance(streams > 0 ? 0.9 : 0.5) ? { audio: audioOption(random, streams) } : {}) };
  if (random.chance(0.25)) pass.video = 'copy';
  if (random.chance(0.25)) {
    pass.seek = random.pick([0, 0.1, 0.2, 0.35, 10]);
    pass.seekAfter = random.between(1, 6);
  }
  if (api === 'itemInto' && random.chance(0.25)) pass.short = true;
  return pass;
}

/**
 * Passes for one mutant. A seed without sound: extractFrame, extractFrameInto at the end of
 * memory, one of the others, and now and then an item pass (audio: true on no audio; video
 * 'copy' of every codec). A seed with sound (`audioStreams` > 0): a frame method with audio on
 * (the audio dropped and counted), extractItemInto at the end of memory, one of the other item
 * methods, and one of the other frame methods with audio on or off.
 */
export function fuzzPlan(random: Random, audioStreams = 0): Pass[] {
  if (audioStreams === 0) {
    const passes: Pass[] = [
      { api: 'frame', ...common(random) },
      { api: 'into', ...common(random) },
      { api: random.pick(['gop', 'read', 'readInto', 'readGop'] as const), ...common(random) },
    ];
    if (random.chance(0.3)) passes.push(itemPass(random, random.pick(ITEM_APIS), 0));
    return passes;
  }
  return [
    { api: random.pick(['frame', 'into'] as const), ...common(random), audio: audioOption(random, audioStreams) },
    itemPass(random, 'itemInto', audioStreams),
    itemPass(random, random.pick(['item', 'readItem', 'iterate'] as const), audioStreams),
    { api: random.pick(['gop', 'read', 'readInto', 'readGop'] as const), ...common(random), ...(random.chance(0.6) ? { audio: audioOption(random, audioStreams) } : {}) },
  ];
}

/**
 * For the regression corpus (and the seeds): every format through extractFrame and
 * extractFrameInto, scaled and not, each async form, and the item methods with sound on and
 * copied; `audioStreams` > 1 adds a pass on the last audio stream.
 */
export function replayPlan(audioStreams = 0): Pass[] {
  const passes: Pass[] = [];
  for (const pixelFormat of PIXEL_FORMATS) {
    passes.push({ api: 'frame', pixelFormat }, { api: 'into', pixelFormat });
  }
  passes.push({ api: 'into', pixelFormat: 'rgb24', width: 101 }, { api: 'into', pixelFormat: 'rgba', width: 1080 }, { api: 'frame', pixelFormat: 'gray', height: 17 });
  passes.push({ api: 'gop', pixelFormat: 'rgb24' }, { api: 'read', pixelFormat: 'yuv420p', threads: 2 }, { api: 'readInto', pixelFormat: 'bgra' }, { api: 'readGop', pixelFormat: 'bgr24' });
  // The item methods, sound on (a file without sound gives Frames only) and copied.
  passes.push(
    { api: 'frame', pixelFormat: 'rgb24', audio: true },
    { api: 'into', pixelFormat: 'gray', audio: { sampleRate: 22050, channels: 1, sampleFormat: 's16' } },
    { api: 'readGop', pixelFormat: 'yuv420p', audio: 'copy' },
    { api: 'item', pixelFormat: 'rgb24', audio: true },
    { api: 'itemInto', pixelFormat: 'rgba', audio: { sampleRate: 48000, channels: 2, sampleFormat: 's16' }, short: true },
    { api: 'itemInto', pixelFormat: 'yuv420p', width: 33, audio: { sampleRate: 8000, channels: 6 } },
    { api: 'readItem', pixelFormat: 'bgr24', audio: 'copy', video: 'copy' },
    { api: 'iterate', pixelFormat: 'gray', audio: { sampleRate: 96000 } },
  );
  // Seeks among pending items (the sound seeds' containers all seek; an Annex-B stream cannot).
  if (audioStreams > 0) passes.push({ api: 'itemInto', pixelFormat: 'yuv420p', audio: { sampleRate: 11025, channels: 2 }, seek: 0.1, seekAfter: 3 }, { api: 'item', pixelFormat: 'rgb24', audio: 'copy', video: 'copy', seek: 0.2, seekAfter: 2 });
  if (audioStreams > 1) passes.push({ api: 'iterate', pixelFormat: 'gray', audio: { stream: audioStreams - 1, sampleRate: 44100, channels: 2 } }, { api: 'readItem', pixelFormat: 'rgb24', audio: { stream: audioStreams - 1, copy: true } });
  return passes;
}

export function describePass(pass: Pass): string {
  const size = pass.width || pass.height ? ` ${pass.width ?? '_'}x${pass.height ?? '_'}` : '';
  const extra = [
    pass.threads !== undefined ? ` threads=${pass.threads}` : '',
    pass.seek !== undefined ? ` seek=${pass.seek}` : '',
    pass.maxPixels !== undefined ? ` maxPixels=${pass.maxPixels}` : '',
    pass.maxGopBytes !== undefined ? ` maxGopBytes=${pass.maxGopBytes}` : '',
    pass.seekAfter !== undefined ? ` after ${pass.seekAfter} items` : '',
    pass.audio !== undefined ? ` audio=${JSON.stringify(pass.audio)}` : '',
    pass.video !== undefined ? ` video=${pass.video}` : '',
    pass.short ? ' short' : '',
  ].join('');
  return `${pass.api} ${pass.pixelFormat}${size}${extra}`;
}
