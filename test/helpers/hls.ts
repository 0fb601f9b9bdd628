// HLS test material: 2 s of test pattern cut into 1 s segments by the ffmpeg CLI, and hand-made
// playlists that name segments wherever a test wants them (outside a directory, through a link).
import path from 'node:path';
import { runChild } from './child';

/** Writes `dir/<name>.m3u8` and its segments `dir/<name>0.ts`, `dir/<name>1.ts` (H.264, 25 fps). */
export async function makeHls(dir: string, name: string, size = '160x120'): Promise<void> {
  const made = await runChild('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`, '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25',
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_segment_filename', path.join(dir, `${name}%d.ts`), path.join(dir, `${name}.m3u8`)], { timeout: 60_000 });
  if (made.status !== 0) throw new Error(`ffmpeg could not make ${name}.m3u8: ${made.stderr}`);
}

/** A finished (VOD) playlist of 1 s segments, named as given. */
export function playlistOf(segments: string[]): string {
  return ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0',
    ...segments.flatMap((segment) => ['#EXTINF:1.000000,', segment]), '#EXT-X-ENDLIST', ''].join('\n');
}
