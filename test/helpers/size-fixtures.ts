// Real H.264/HEVC/VP9/MJPEG clips at a spread of sizes for the buffer-safety tests: portrait and
// landscape, 2^n±1, odd sides where the codec allows them (4:4:4 H.264, VP9, MJPEG), so that
// decoded frames come with the codecs' own padded linesizes. Each entry is the exact ffmpeg
// argument list that makes it (18 frames, a keyframe every 3 frames, so a GOP read is 3 frames).
// Made once per machine into the fixture dir, like test/helpers/fixtures.ts, and reused.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { FIXTURE_DIR } from './fixtures';

const run = promisify(execFile);

/** testsrc2 at the nearest even size (it rounds odd sizes), scaled to exactly w x h. */
const SRC = (w: number, h: number) => ['-f', 'lavfi', '-i', `testsrc2=size=${w + (w % 2)}x${h + (h % 2)}:rate=25`, '-frames:v', '18', '-vf', `scale=${w}:${h}`];
const X264 = (pixFmt: string) => ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '3', '-pix_fmt', pixFmt];
const X265 = (pixFmt: string) => ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:keyint=3:min-keyint=3:bframes=2:scenecut=0', '-pix_fmt', pixFmt];
const VP9 = ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '3', '-b:v', '1M', '-pix_fmt', 'yuv420p'];
const MJPEG = (pixFmt: string) => ['-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', pixFmt];

export const SIZE_FIXTURES = {
  // The portrait clip and its neighbours, 4:2:0 H.264.
  'size-h264-1080x1920.mp4': [...SRC(1080, 1920), ...X264('yuv420p')],
  'size-h264-360x640.mp4': [...SRC(360, 640), ...X264('yuv420p')],
  'size-h264-600x400.mp4': [...SRC(600, 400), ...X264('yuv420p')],
  'size-h264-720x1280.mp4': [...SRC(720, 1280), ...X264('yuv420p')],
  'size-h264-1920x1080.mp4': [...SRC(1920, 1080), ...X264('yuv420p')],
  // Odd sizes: 4:4:4 H.264 (4:2:0 needs even sides).
  'size-h264-444-127x129.mp4': [...SRC(127, 129), ...X264('yuv444p')],
  'size-h264-444-257x255.mp4': [...SRC(257, 255), ...X264('yuv444p')],
  'size-h264-444-1081x1919.mp4': [...SRC(1081, 1919), ...X264('yuv444p')],
  // VP9 takes odd sizes in 4:2:0.
  'size-vp9-65x33.webm': [...SRC(65, 33), ...VP9],
  'size-vp9-129x127.webm': [...SRC(129, 127), ...VP9],
  'size-vp9-513x255.webm': [...SRC(513, 255), ...VP9],
  'size-vp9-1023x577.webm': [...SRC(1023, 577), ...VP9],
  // HEVC, 8-bit and 10-bit.
  'size-hevc-1080x1920.mkv': [...SRC(1080, 1920), ...X265('yuv420p')],
  'size-hevc10-514x290.mkv': [...SRC(514, 290), ...X265('yuv420p10le')],
  // MJPEG decodes to yuvj420p/yuvj422p (full range), odd sizes allowed.
  'size-mjpeg-321x241.avi': [...SRC(321, 241), ...MJPEG('yuvj420p')],
  'size-mjpeg-422-97x63.avi': [...SRC(97, 63), ...MJPEG('yuvj422p')],
} as const satisfies Record<string, readonly string[]>;

export type SizeFixtureName = keyof typeof SIZE_FIXTURES;

/** Width and height from the name (`...-WxH.ext`). */
export function sizeOf(name: SizeFixtureName): { w: number; h: number } {
  const [, w, h] = /-(\d+)x(\d+)\.\w+$/.exec(name)!;
  return { w: Number(w), h: Number(h) };
}

function formatOf(name: string): string {
  const ext = path.extname(name).slice(1);
  return ({ mp4: 'mp4', webm: 'webm', mkv: 'matroska', avi: 'avi' } as Record<string, string>)[ext] ?? ext;
}

/** Makes the missing clips, two ffmpeg processes at a time; returns name -> path. */
export async function sizeFixtures(): Promise<Record<SizeFixtureName, string>> {
  fs.mkdirSync(FIXTURE_DIR, { recursive: true });
  const names = Object.keys(SIZE_FIXTURES) as SizeFixtureName[];
  const missing = names.filter((name) => !fs.existsSync(path.join(FIXTURE_DIR, name)));
  for (let i = 0; i < missing.length; i += 2) {
    await Promise.all(missing.slice(i, i + 2).map(async (name) => {
      // Written to a temp name, then renamed, so parallel test files never see half a file.
      const partial = path.join(FIXTURE_DIR, `.${process.pid}.${Date.now()}.${name}`);
      await run('ffmpeg', ['-v', 'error', '-y', ...SIZE_FIXTURES[name], '-f', formatOf(name), partial]);
      fs.renameSync(partial, path.join(FIXTURE_DIR, name));
    }));
  }
  return Object.fromEntries(names.map((name) => [name, path.join(FIXTURE_DIR, name)])) as Record<SizeFixtureName, string>;
}
