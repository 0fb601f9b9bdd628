// The fuzzer's seeds: tiny files (11x7 to 64x48, 3 to 6 frames) in the codecs and containers
// the field crashes came from, plus a few more that cost nothing. Small and odd sizes where the
// codec allows them: the crashes were all about sizes. Each entry is the ffmpeg command (after
// `ffmpeg -v error -y`) that makes it from testsrc2; files are made once per machine into a temp
// dir and reused, like test/helpers/fixtures.ts.
//
// Mutant N of campaign S is a function of this table, of the mutators, and of the bytes the local
// encoders make: FUZZ_VERSION is bumped whenever the table or the mutators change what a (seed,
// index) names, and reports and corpus notes carry it with a digest of the seed bytes (another
// x264/x265/libvpx/libaom makes other seeds). The corpus keeps the files, which replay anywhere.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Container } from './container-resize';
import { locateDimensionFields, type Codec, type DimensionField } from './header-fields';
import { locateTimingFields, type TimingField } from './timing-fields';

export const FUZZ_VERSION = 4;
// Of the seed files alone (their cache dir): bumped when an ffmpeg command changes.
const SEEDS_VERSION = 3;

const run = promisify(execFile);
const SRC = (size: string, seconds: number) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=10:duration=${seconds}`];
// A second input: a tone at `rate` Hz for `seconds` (the muxers take the video's length with it).
const SINE = (rate: number, seconds: number, frequency = 440) => ['-f', 'lavfi', '-i', `sine=frequency=${frequency}:sample_rate=${rate}:duration=${seconds}`];

export interface SeedSpec {
  name: string;
  codec: Codec;
  container: Container;
  /** The size the file really has (after the -vf scale, if any). */
  width: number;
  height: number;
  ffmpeg: readonly string[];
  /** Audio streams in the file (0 for the video-only seeds): its mutants get the audio passes. */
  audioStreams?: number;
}

export const SEEDS: readonly SeedSpec[] = [
  // H.264 with B-frames in MP4 (moov at the end, after mdat).
  { name: 'h264.mp4', codec: 'h264', container: 'mp4', width: 48, height: 32, ffmpeg: [...SRC('48x32', 0.6), '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-g', '4', '-pix_fmt', 'yuv420p', '-f', 'mp4'] },
  // Odd size: 4:4:4, since 4:2:0 H.264 needs even sides (testsrc2 makes even sizes only, hence the scale).
  { name: 'h264-odd-33x17.mp4', codec: 'h264', container: 'mp4', width: 33, height: 17, ffmpeg: [...SRC('34x18', 0.5), '-vf', 'scale=33:17', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '3', '-pix_fmt', 'yuv444p', '-f', 'mp4'] },
  // MPEG-TS: the SPS in band, before every keyframe.
  { name: 'h264.ts', codec: 'h264', container: 'mpegts', width: 64, height: 48, ffmpeg: [...SRC('64x48', 0.5), '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '1', '-g', '3', '-pix_fmt', 'yuv420p', '-f', 'mpegts'] },
  { name: 'h264.flv', codec: 'h264', container: 'flv', width: 32, height: 32, ffmpeg: [...SRC('32x32', 0.5), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '3', '-pix_fmt', 'yuv420p', '-f', 'flv'] },
  // Annex-B elementary stream: nothing around the NAL units.
  { name: 'h264-annexb.h264', codec: 'h264', container: 'annexb', width: 48, height: 48, ffmpeg: [...SRC('48x48', 0.5), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '3', '-pix_fmt', 'yuv420p', '-f', 'h264'] },
  // 10-bit 4:2:2 H.264 in Matroska: another decoder path and another swscale input.
  { name: 'h264-422p10.mkv', codec: 'h264', container: 'matroska', width: 24, height: 16, ffmpeg: [...SRC('24x16', 0.5), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '3', '-pix_fmt', 'yuv422p10le', '-f', 'matroska'] },
  { name: 'hevc.mp4', codec: 'hevc', container: 'mp4', width: 32, height: 16, ffmpeg: [...SRC('32x16', 0.5), '-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=3:bframes=1', '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1', '-f', 'mp4'] },
  { name: 'hevc-odd-41x25.mkv', codec: 'hevc', container: 'matroska', width: 41, height: 25, ffmpeg: [...SRC('42x26', 0.5), '-vf', 'scale=41:25', '-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=3', '-pix_fmt', 'yuv444p', '-f', 'matroska'] },
  { name: 'hevc-annexb.hevc', codec: 'hevc', container: 'annexb', width: 32, height: 32, ffmpeg: [...SRC('32x32', 0.5), '-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=3', '-pix_fmt', 'yuv420p', '-f', 'hevc'] },
  // MPEG-4 part 2 takes odd sizes in 4:2:0.
  { name: 'mpeg4-odd-35x21.avi', codec: 'mpeg4', container: 'avi', width: 35, height: 21, ffmpeg: [...SRC('36x22', 0.5), '-vf', 'scale=35:21', '-c:v', 'mpeg4', '-q:v', '3', '-bf', '1', '-g', '3', '-f', 'avi'] },
  { name: 'vp9.webm', codec: 'vp9', container: 'matroska', width: 24, height: 16, ffmpeg: [...SRC('24x16', 0.5), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '3', '-f', 'webm'] },
  { name: 'vp9-odd-31x17.ivf', codec: 'vp9', container: 'ivf', width: 31, height: 17, ffmpeg: [...SRC('32x18', 0.5), '-vf', 'scale=31:17', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '3', '-f', 'ivf'] },
  { name: 'vp8-odd-17x13.ivf', codec: 'vp8', container: 'ivf', width: 17, height: 13, ffmpeg: [...SRC('18x14', 0.5), '-vf', 'scale=17:13', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '3', '-f', 'ivf'] },
  { name: 'av1.ivf', codec: 'av1', container: 'ivf', width: 24, height: 16, ffmpeg: [...SRC('24x16', 0.3), '-c:v', 'libaom-av1', '-cpu-used', '8', '-usage', 'realtime', '-g', '3', '-f', 'ivf'] },
  { name: 'mjpeg-odd-23x15.avi', codec: 'mjpeg', container: 'avi', width: 23, height: 15, ffmpeg: [...SRC('24x16', 0.4), '-vf', 'scale=23:15', '-c:v', 'mjpeg', '-q:v', '5', '-pix_fmt', 'yuvj420p', '-f', 'avi'] },
  { name: 'mpeg2.mpg', codec: 'mpeg2video', container: 'mpeg-ps', width: 48, height: 32, ffmpeg: [...SRC('48x32', 0.5), '-c:v', 'mpeg2video', '-q:v', '4', '-bf', '1', '-g', '3', '-f', 'mpeg'] },
  { name: 'flv1.flv', codec: 'flv1', container: 'flv', width: 32, height: 24, ffmpeg: [...SRC('32x24', 0.5), '-c:v', 'flv', '-g', '3', '-f', 'flv'] },
  { name: 'prores-16x16.mov', codec: 'prores', container: 'mp4', width: 16, height: 16, ffmpeg: [...SRC('16x16', 0.3), '-c:v', 'prores_ks', '-profile:v', '0', '-f', 'mov'] },
  // Other decoder outputs, so other swscale inputs: monochrome H.264 (4:0:0 crops by single
  // pixels), 10-bit HEVC, 4:4:4 VP9, paletted GIF, RGBA PNG, 4:2:2 JPEG, Theora in Ogg.
  { name: 'h264-gray-25x15.mkv', codec: 'h264', container: 'matroska', width: 25, height: 15, ffmpeg: [...SRC('26x16', 0.5), '-vf', 'scale=25:15', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '3', '-pix_fmt', 'gray', '-f', 'matroska'] },
  { name: 'hevc-main10.mp4', codec: 'hevc', container: 'mp4', width: 24, height: 16, ffmpeg: [...SRC('24x16', 0.4), '-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=3', '-pix_fmt', 'yuv420p10le', '-tag:v', 'hvc1', '-f', 'mp4'] },
  { name: 'vp9-444-19x11.webm', codec: 'vp9', container: 'matroska', width: 19, height: 11, ffmpeg: [...SRC('20x12', 0.4), '-vf', 'scale=19:11', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '3', '-pix_fmt', 'yuv444p', '-f', 'webm'] },
  { name: 'anim-19x11.gif', codec: 'gif', container: 'gif', width: 19, height: 11, ffmpeg: [...SRC('20x12', 0.4), '-vf', 'scale=19:11', '-f', 'gif'] },
  { name: 'png-rgba-13x7.mov', codec: 'png', container: 'mp4', width: 13, height: 7, ffmpeg: [...SRC('14x8', 0.3), '-vf', 'scale=13:7,format=rgba', '-c:v', 'png', '-f', 'mov'] },
  { name: 'mjpeg-422-21x13.mov', codec: 'mjpeg', container: 'mp4', width: 21, height: 13, ffmpeg: [...SRC('22x14', 0.3), '-vf', 'scale=21:13', '-c:v', 'mjpeg', '-pix_fmt', 'yuvj422p', '-f', 'mov'] },
  { name: 'theora-31x23.ogv', codec: 'theora', container: 'ogg', width: 31, height: 23, ffmpeg: [...SRC('32x24', 0.4), '-vf', 'scale=31:23', '-c:v', 'libtheora', '-q:v', '5', '-g', '3', '-f', 'ogg'] },
  // Sizes only in the container, and a decoder that must check the packet against them.
  { name: 'ffv1-17x9.mkv', codec: 'ffv1', container: 'matroska', width: 17, height: 9, ffmpeg: [...SRC('18x10', 0.3), '-vf', 'scale=17:9', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', '-f', 'matroska'] },
  { name: 'raw-bgr24-11x7.avi', codec: 'rawvideo', container: 'avi', width: 11, height: 7, ffmpeg: [...SRC('12x8', 0.3), '-vf', 'scale=11:7', '-c:v', 'rawvideo', '-pix_fmt', 'bgr24', '-f', 'avi'] },
  // With sound (issue 11): the audio decoders, libswresample, the interleaving queues and stream
  // copy get their own hostile input. The audio tracks are as short as the pictures, at the rates
  // and layouts files have (48 kHz stereo, 44.1 kHz mono, 22.05 kHz PCM), and their timing fields
  // (stts/stsz/stco of the audio trak, PES PTS of the audio PID, FLV audio tags, Matroska
  // blocks, AVI audio chunks) are among those the timing mutations pick.
  // H.264 + AAC in MP4, the common case; the AAC AudioSpecificConfig in esds.
  { name: 'av-h264-aac.mp4', codec: 'h264', container: 'mp4', width: 32, height: 24, audioStreams: 1, ffmpeg: [...SRC('32x24', 0.4), ...SINE(48000, 0.4), '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '1', '-g', '3', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '24k', '-ac', '2', '-f', 'mp4'] },
  // Two audio tracks (48 kHz stereo AAC, 44.1 kHz mono MP3): audio.stream picks the second.
  { name: 'av-two-tracks.mp4', codec: 'h264', container: 'mp4', width: 24, height: 16, audioStreams: 2, ffmpeg: [...SRC('24x16', 0.4), ...SINE(48000, 0.4), ...SINE(44100, 0.4, 880), '-map', '0:v', '-map', '1:a', '-map', '2:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '3', '-pix_fmt', 'yuv420p', '-c:a:0', 'aac', '-b:a:0', '24k', '-ac:a:0', '2', '-c:a:1', 'libmp3lame', '-b:a:1', '32k', '-ac:a:1', '1', '-f', 'mp4'] },
  // MPEG-TS: ADTS AAC (a header on every frame) and MPEG-1 layer II, each on its own PID.
  { name: 'av-h264-adts.ts', codec: 'h264', container: 'mpegts', width: 32, height: 32, audioStreams: 1, ffmpeg: [...SRC('32x32', 0.4), ...SINE(48000, 0.4), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '3', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '24k', '-ac', '2', '-f', 'mpegts'] },
  { name: 'av-mpeg2-mp2.ts', codec: 'mpeg2video', container: 'mpegts', width: 48, height: 32, audioStreams: 1, ffmpeg: [...SRC('48x32', 0.4), ...SINE(44100, 0.4), '-c:v', 'mpeg2video', '-q:v', '4', '-g', '3', '-c:a', 'mp2', '-b:a', '64k', '-ac', '1', '-f', 'mpegts'] },
  // Matroska/WebM: Opus (48 kHz, pre-skip in CodecPrivate) and Vorbis (three headers in CodecPrivate).
  { name: 'av-vp9-opus.webm', codec: 'vp9', container: 'matroska', width: 24, height: 16, audioStreams: 1, ffmpeg: [...SRC('24x16', 0.4), ...SINE(48000, 0.4), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '3', '-c:a', 'libopus', '-b:a', '24k', '-ac', '2', '-f', 'webm'] },
  { name: 'av-h264-vorbis.mkv', codec: 'h264', container: 'matroska', width: 32, height: 16, audioStreams: 1, ffmpeg: [...SRC('32x16', 0.4), ...SINE(22050, 0.4), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '3', '-pix_fmt', 'yuv420p', '-c:a', 'libvorbis', '-q:a', '0', '-ac', '1', '-f', 'matroska'] },
  // FLV: MP3 (44.1 kHz mono) beside H.264, AAC (the sequence header tag) beside Sorenson H.263.
  { name: 'av-h264-mp3.flv', codec: 'h264', container: 'flv', width: 32, height: 24, audioStreams: 1, ffmpeg: [...SRC('32x24', 0.4), ...SINE(44100, 0.4), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '3', '-pix_fmt', 'yuv420p', '-c:a', 'libmp3lame', '-b:a', '32k', '-ac', '1', '-f', 'flv'] },
  { name: 'av-flv1-aac.flv', codec: 'flv1', container: 'flv', width: 32, height: 24, audioStreams: 1, ffmpeg: [...SRC('32x24', 0.4), ...SINE(44100, 0.4), '-c:v', 'flv', '-g', '3', '-c:a', 'aac', '-b:a', '24k', '-ac', '2', '-f', 'flv'] },
  // 16-bit PCM (8 kHz mono, WAV's format) in AVI beside MPEG-4 part 2: no audio decoder to speak of, so block sizes and rates straight from the header.
  { name: 'av-mpeg4-pcm.avi', codec: 'mpeg4', container: 'avi', width: 24, height: 16, audioStreams: 1, ffmpeg: [...SRC('24x16', 0.3), ...SINE(8000, 0.3), '-c:v', 'mpeg4', '-q:v', '4', '-g', '3', '-c:a', 'pcm_s16le', '-ac', '1', '-f', 'avi'] },
];

export interface Seed extends SeedSpec {
  bytes: Uint8Array;
  /** Where it declares its size (see header-fields.ts). */
  fields: DimensionField[];
  /** Its timestamps, time bases and packet sizes (see timing-fields.ts). */
  timing: TimingField[];
}

export const SEED_DIR = process.env.STREAMCODER_FUZZ_SEEDS ?? path.join(os.tmpdir(), `streamcoder-fuzz-seeds-v${SEEDS_VERSION}`);

/** The seeds, made first where missing (two ffmpeg processes at a time: two cores). */
export async function loadSeeds(): Promise<Seed[]> {
  fs.mkdirSync(SEED_DIR, { recursive: true });
  const missing = SEEDS.filter((s) => !fs.existsSync(path.join(SEED_DIR, s.name)));
  for (let i = 0; i < missing.length; i += 2) {
    await Promise.all(missing.slice(i, i + 2).map(async (spec) => {
      const file = path.join(SEED_DIR, spec.name);
      // A temp name, then a rename: a parallel run never sees half a file.
      const partial = path.join(SEED_DIR, `.${process.pid}.${spec.name}`);
      await run('ffmpeg', ['-v', 'error', '-y', ...spec.ffmpeg, partial]);
      fs.renameSync(partial, file);
    }));
  }
  return SEEDS.map((spec) => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(SEED_DIR, spec.name)));
    return { ...spec, bytes, fields: locateDimensionFields(bytes, spec.codec, spec.container, spec.width, spec.height), timing: locateTimingFields(bytes, spec.container) };
  });
}

/** A short digest of the seeds' bytes: equal digests, equal mutants for equal (seed, index). */
export function seedsDigest(seeds: readonly Seed[]): string {
  const hash = createHash('sha256');
  for (const seed of seeds) hash.update(seed.name).update(seed.bytes);
  return hash.digest('hex').slice(0, 12);
}
