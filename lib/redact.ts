/**
 * Masks the credentials in every URL of `text`: `rtsp://user:pass@host` -> `rtsp://***@host`.
 * The native layer does the same to everything it reports; this is for what JS prints itself.
 *
 * @example
 * redactUrl('rtmp://bob:pw@example.com/live') // 'rtmp://***@example.com/live'
 */
export function redactUrl(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s]+@/g, '$1***@');
}
