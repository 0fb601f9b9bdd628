// ffmpegVersions(): the FFmpeg the addon was built against and the one it loaded, and which addon.
import { addon, native } from './binding';
import type { AddonKind } from './load-native';

/** The FFmpeg libraries the addon links. */
export type FfmpegLibrary = 'libavformat' | 'libavcodec' | 'libavutil' | 'libswscale' | 'libswresample';

export interface FfmpegVersions {
  /** FFmpeg's own version string of the libraries loaded, e.g. `5.1.6-0+deb12u1`. */
  ffmpeg: string;
  /**
   * Each library's version when the addon was built and the one loaded now. Their majors always
   * agree: the addon refuses to load otherwise, since FFmpeg's ABI changes with the major.
   */
  libraries: Record<FfmpegLibrary, { built: string; runtime: string }>;
  /** The addon file in use and where it came from (the package's prebuild, a source build). */
  addon: { kind: AddonKind; file: string };
}

/**
 * Versions of the FFmpeg libraries the addon was built against and runs with.
 *
 * @example
 * const { ffmpeg, libraries } = ffmpegVersions();
 * console.log(ffmpeg, libraries.libavcodec.runtime);
 */
export function ffmpegVersions(): FfmpegVersions {
  return { ...native.versions(), addon: { ...addon } };
}
