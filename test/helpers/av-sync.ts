// A/V sync, measured by the ffmpeg CLI, not assumed: a source whose picture turns white and whose
// sound beeps at the same instants (every whole second), and a judge that finds, in any file or
// recording, when each flash is shown and when each beep starts, on the file's own timeline.
import { execFileSync } from 'node:child_process';

/**
 * ffmpeg arguments (before the output name) for `seconds` of 320x240 H.264 at 25 fps and AAC at
 * 48 kHz in which frame 25k is white and a 1 kHz beep starts at sample 48000k, k = 0, 1, 2...
 * `audioDelay` starts the sound that much after the picture (the beeps move with it).
 */
export function flashBeepArgs(seconds: number, options: { audioDelay?: number; sampleRate?: number; channels?: number; bframes?: number } = {}): string[] {
  const rate = options.sampleRate ?? 48000;
  const channelLayout = (options.channels ?? 2) === 1 ? 'mono' : 'stereo';
  return [
    '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${seconds}`,
    ...(options.audioDelay ? ['-itsoffset', String(options.audioDelay)] : []),
    '-f', 'lavfi', '-i', `aevalsrc='if(lt(mod(t\\,1)\\,0.05)\\,0.8*sin(2*PI*1000*t)\\,0)':s=${rate}:c=${channelLayout}:d=${seconds}`,
    '-filter_complex', "[0:v]drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t,1),0.04)'[v]",
    '-map', '[v]', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '25', '-bf', String(options.bframes ?? 0),
    '-c:a', 'aac', '-b:a', '128k',
  ];
}

export interface SyncMeasure {
  /** Seconds at which a white frame follows a normal one. */
  flashes: number[];
  /** Seconds at which a beep starts after silence. */
  beeps: number[];
  /** For each flash with a beep within half a second: beep minus flash, in seconds. */
  offsets: { flash: number; offset: number }[];
}

/** Finds the flashes and the beeps in `file` (any container the ffmpeg CLI reads). */
export function measureSync(file: string): SyncMeasure {
  const frames = String(execFileSync('ffprobe', [
    '-v', 'error', '-f', 'lavfi', `movie=${file.replace(/([\\':,])/g, '\\$1')},signalstats`,
    '-show_entries', 'frame=best_effort_timestamp_time:frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0',
  ], { maxBuffer: 64 << 20 })).trim().split('\n').map((line) => line.split(',').map(Number) as [number, number]);
  const flashes: number[] = [];
  frames.forEach(([time, luma], k) => {
    if (luma > 200 && (k === 0 || frames[k - 1][1] <= 200)) flashes.push(time);
  });

  // Sample i of the decoded sound at i / 48000 s on the file's timeline: aresample pads from time
  // 0 to the sound's first timestamp (as ffmpeg reads it, encoder priming already skipped).
  const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a:0', '-af', 'aresample=48000:async=1:first_pts=0', '-ac', '1', '-f', 'f32le', '-'], { maxBuffer: 1 << 30 });
  const samples = new Float32Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 4);
  const beeps: number[] = [];
  // A beep starts where the sound gets loud after 0.3 s that were not. (Lossy codecs smear a
  // little pre-echo before an onset, well under the threshold: it neither counts nor hides one.)
  let sinceLoud = 48000;
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i]) > 0.1) {
      if (sinceLoud >= 0.3 * 48000) beeps.push(i / 48000);
      sinceLoud = 0;
    } else {
      sinceLoud++;
    }
  }
  const offsets = flashes.flatMap((flash) => {
    const beep = beeps.reduce((best, b) => (Math.abs(b - flash) < Math.abs(best - flash) ? b : best), Infinity);
    return Math.abs(beep - flash) <= 0.5 ? [{ flash, offset: beep - flash }] : [];
  });
  return { flashes, beeps, offsets };
}
