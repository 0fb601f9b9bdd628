// The parts of a stream spec that a stream's own process needs to run it, apart from spec.ts,
// whose schema validator (Ajv, compiled when loaded) would add about 12 MB to every stream's
// process for nothing: the run is given a spec the service has checked already.
import path from 'node:path';

/** What a stream's run is held to, from the policy: where its file input may reach, and its sizes. */
export interface RunBounds {
  /** The allowed directory a file input lies in; its decoder opens nothing outside it. */
  confineTo: string | null;
  maxPixelRate: number;
  maxInputPixels: number;
  /** The allowed directories: a fallback or slate file is confined to the one it lies in. */
  directories: readonly string[];
}

/**
 * FFmpeg's protocol_whitelist for an input of this scheme: what it opens may use these protocols
 * only, so an HTTP playlist cannot lead the decoder to file:// or another host's subprotocol.
 */
export const PROTOCOL_WHITELIST: Record<string, string> = {
  file: 'file',
  rtmp: 'rtmp,tcp',
  rtmps: 'rtmps,rtmp,tcp,tls',
  rtsp: 'rtsp,rtp,udp,tcp,srtp',
  srt: 'srt,udp',
  http: 'http,tcp,hls,crypto',
  https: 'https,http,tcp,tls,crypto,hls',
};

export function schemeOf(url: string): string | null {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url);
  return match ? match[1].toLowerCase() : null;
}

/**
 * The allowed directory `file` lies in by its spelling (`..` resolved, links not followed), or
 * null. A stream's decoder is confined to it, so that what the file names (a playlist's
 * segments and keys) lies there too.
 */
export function confinementOf(file: string, directories: readonly string[]): string | null {
  const resolved = path.resolve(file);
  return directories.find((dir) => resolved === dir || resolved.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep)) ?? null;
}

/** The file path of a file input (a plain absolute path or file:///path), else null. */
export function filePathOf(input: string): string | null {
  if (input.startsWith('file://')) {
    try {
      // The path as the file system knows it: file:///a%20b.mp4 is "/a b.mp4".
      return decodeURIComponent(new URL(input).pathname);
    } catch {
      return null;
    }
  }
  return schemeOf(input) === null ? input : null;
}

/** "2500k" -> 2500000; numbers as they are. */
export function bitsPerSecond(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^([0-9]+(?:\.[0-9]+)?)([kM]?)$/.exec(value)!;
  return Math.round(Number(match[1]) * (match[2] === 'k' ? 1e3 : match[2] === 'M' ? 1e6 : 1));
}
