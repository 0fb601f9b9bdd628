// What Decoder, Client, Server and Encoder add for network URLs on top of the caller's options:
// one place, so a source and an output of the same URL are treated alike.
import * as check from './validate';

/** Default bound on each network operation when the caller sets none. */
export const DEFAULT_NETWORK_TIMEOUT_MS = 10_000;

/** The caller's `timeoutMs`, or the default for network URLs (0, none, for files). */
export function timeoutFor(url: string, value: unknown): number {
  if (value === undefined) return check.isNetworkUrl(url) ? DEFAULT_NETWORK_TIMEOUT_MS : 0;
  return check.integer(value, 'timeoutMs', 1, check.MAX_TIMEOUT_MS);
}

/**
 * The caller's `formatOptions` with `transport` applied, and TCP_NODELAY for RTMP: its handshake
 * is a chain of small messages that Nagle's algorithm and delayed ACKs hold back ~40 ms each
 * (publishing to nginx-rtmp opened in 180 ms, and in 48 ms with it). RTSP has no such option.
 */
export function formatOptionsFor(url: string, options: { formatOptions?: unknown; transport?: unknown }, side: 'source' | 'output'): Record<string, string> {
  const formatOptions = check.dictionary(options.formatOptions, 'formatOptions');
  if (options.transport !== undefined) {
    check.oneOf(options.transport, 'transport', ['tcp', 'udp'] as const);
    if (!/^rtsps?:\/\//i.test(url)) throw check.invalid('transport', `an rtsp:// ${side}`, url);
    formatOptions.rtsp_transport = options.transport as string;
  }
  if (/^rtmp:\/\//i.test(url)) formatOptions.tcp_nodelay ??= '1';
  // A live source describes itself in its first packets; FFmpeg's default of probing 5 s of it
  // (to estimate a frame rate the stream states anyway) made every live open take 5 s, and the
  // frames read meanwhile became a backlog. 1 s at most, unless the caller chooses.
  if (side === 'source' && isLiveUrl(url)) formatOptions.analyzeduration ??= '1000000';
  return formatOptions;
}

/** Outputs that hold a connection a server can drop: where a Server's `reconnect` applies. */
export function isConnectedOutput(url: string): boolean {
  return /^(rtmp[ste]?|rtsps?|srt|tcp):\/\//i.test(url);
}

/** Streaming protocols, whose sources are live (not a file served over HTTP). */
export function isLiveUrl(url: string): boolean {
  return /^(rtmp[ste]?|rtsps?|srt|udp|rtp|tcp):\/\//i.test(url);
}
