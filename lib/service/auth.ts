// The bearer token every API call but /healthz (and nginx-rtmp's on_publish call, which carries
// its own signed token) must present. Compared in constant time: the digests of both sides are
// compared with crypto.timingSafeEqual, so neither the content nor the length of the expected
// token leaks through the time an answer takes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const digest = (text: string) => crypto.createHash('sha256').update(text).digest();

/** `Bearer <token>`: the scheme's name in any case (RFC 9110 11.1), one space, the token. */
const BEARER = /^bearer (\S+)$/i;

export function tokenMatches(header: string | undefined, expected: string): boolean {
  const match = BEARER.exec(header ?? '');
  // Compared even without a header, so a missing one takes as long as a wrong one.
  return crypto.timingSafeEqual(digest(match ? match[1] : ''), digest(expected)) && match !== null;
}

/** Why a request without the right token is refused: none given, or a wrong one (never which part). */
export function tokenFault(header: string | undefined): string {
  return BEARER.test(header ?? '') ? 'the bearer token is not the one this service takes' : 'a bearer token is required: Authorization: Bearer <token>';
}

/**
 * The API token: the first line of `tokenFile`, or else DATA/api-token, made (32 random bytes,
 * base64url, mode 0600) on the first start.
 */
export function loadApiToken(tokenFile: string | undefined, dataDir: string): { token: string; file: string; warning?: string } {
  const file = tokenFile ?? path.join(dataDir, 'api-token');
  if (!tokenFile && !fs.existsSync(file)) fs.writeFileSync(file, `${crypto.randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  const token = fs.readFileSync(file, 'utf8').split('\n')[0].trim();
  if (token.length < 16) throw new Error(`${file}: the token must be at least 16 characters`);
  const mode = fs.statSync(file).mode & 0o777;
  return { token, file, ...(mode & 0o077 ? { warning: `${file} can be read by others (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${file}` } : {}) };
}
