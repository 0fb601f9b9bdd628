// What the runner does with a mutant: passes through the public Decoder API, each a fresh
// Decoder with its own pixel format, output size and read method. Three per fuzz mutant (chosen
// by the mutant's PRNG); every method and format for a regression replay.
import type { Random } from './prng';

export const PIXEL_FORMATS = ['rgb24', 'bgr24', 'rgba', 'bgra', 'gray', 'yuv420p'] as const;
export type PixelFormat = (typeof PIXEL_FORMATS)[number];

/**
 * `frame`: extractFrame; `into`: extractFrameInto a buffer that ends where mapped memory ends;
 * `gop`: extractGOP; `read`, `readInto`, `readGop`: their Promise forms.
 */
export type Api = 'frame' | 'into' | 'gop' | 'read' | 'readInto' | 'readGop';

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

/** Three passes: extractFrame, extractFrameInto at the end of memory, and one of the others. */
export function fuzzPlan(random: Random): Pass[] {
  return [
    { api: 'frame', ...common(random) },
    { api: 'into', ...common(random) },
    { api: random.pick(['gop', 'read', 'readInto', 'readGop'] as const), ...common(random) },
  ];
}

/** For the regression corpus: every format through extractFrame and extractFrameInto, scaled and not, and each async form. */
export function replayPlan(): Pass[] {
  const passes: Pass[] = [];
  for (const pixelFormat of PIXEL_FORMATS) {
    passes.push({ api: 'frame', pixelFormat }, { api: 'into', pixelFormat });
  }
  passes.push({ api: 'into', pixelFormat: 'rgb24', width: 101 }, { api: 'into', pixelFormat: 'rgba', width: 1080 }, { api: 'frame', pixelFormat: 'gray', height: 17 });
  passes.push({ api: 'gop', pixelFormat: 'rgb24' }, { api: 'read', pixelFormat: 'yuv420p', threads: 2 }, { api: 'readInto', pixelFormat: 'bgra' }, { api: 'readGop', pixelFormat: 'bgr24' });
  return passes;
}

export function describePass(pass: Pass): string {
  const size = pass.width || pass.height ? ` ${pass.width ?? '_'}x${pass.height ?? '_'}` : '';
  const extra = [
    pass.threads !== undefined ? ` threads=${pass.threads}` : '',
    pass.seek !== undefined ? ` seek=${pass.seek}` : '',
    pass.maxPixels !== undefined ? ` maxPixels=${pass.maxPixels}` : '',
    pass.maxGopBytes !== undefined ? ` maxGopBytes=${pass.maxGopBytes}` : '',
  ].join('');
  return `${pass.api} ${pass.pixelFormat}${size}${extra}`;
}
