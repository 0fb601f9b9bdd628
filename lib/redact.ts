// Masking the secrets of URLs (credentials, keys, tokens) in any text the library shows.
import { native } from './binding';

/**
 * Masks the secrets of every URL in `text`, whatever else the text says:
 * - credentials: `rtsp://user:pass@host` and `rtsp://user@host` -> `rtsp://***@host`;
 * - every query parameter's value: `?token=abc&sig=x` -> `?token=***&sig=***` (srt's
 *   `streamid=`/`passphrase=` included), and the fragment: `#key` -> `#***`;
 * - for rtmp, rtmps, rtmpt, rtmpe, rtmpte and rtmpts URLs, the stream name (the stream key on
 *   most platforms): every path segment after the application, `rtmp://host/live/<key>` ->
 *   `rtmp://host/live/***`, and the values of librtmp-style options after the URL and a space
 *   (`rtmp://host/live/key pubPasswd=x` -> `rtmp://host/live/*** pubPasswd=***`).
 *
 * A URL ends at whitespace, a quote or an angle bracket. This is the native layer's own function
 * (one implementation for everything the library reports), which also masks the stream names
 * and tokens of the URLs open at the time in its errors and in FFmpeg's log; this function is
 * for what your code prints itself.
 *
 * @example
 * redactUrl('rtmp://bob:pw@example.com/live/abcd-1234?token=x') // 'rtmp://***@example.com/live/***?token=***'
 */
export function redactUrl(text: string): string {
  return native.redactUrl(String(text));
}
