// Publish tokens for nginx-rtmp: the service signs "app/stream/expiry" with HMAC-SHA256 under a
// secret kept in DATA/publish-secret (so tokens outlive a restart of the service), or in a
// cluster in etcd (so that any node admits what any node signed); nginx-rtmp's
// on_publish asks the service about each publish, with the URL's query (`?token=...`) as form
// fields, and admits it only on a 2xx answer.
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference types="node" preserve="true" />
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class PublishTokens {
  constructor(private readonly secret: Buffer) {
    if (secret.length < 32) throw new Error('a publish-token secret needs 32 bytes or more');
  }

  /** The secret of DATA/publish-secret, made on the first start. */
  static inDir(dataDir: string): PublishTokens {
    const file = path.join(dataDir, 'publish-secret');
    if (!fs.existsSync(file)) fs.writeFileSync(file, crypto.randomBytes(32), { mode: 0o600 });
    return new PublishTokens(fs.readFileSync(file));
  }

  private mac(payload: string): Buffer {
    return crypto.createHmac('sha256', this.secret).update(payload).digest();
  }

  /** A token admitting a publish to `app/stream` until `expiresAt` (seconds since the epoch). */
  sign(app: string, stream: string, expiresAt: number): string {
    return `${expiresAt}.${this.mac(`${app}/${stream}/${expiresAt}`).toString('base64url')}`;
  }

  /** '' when `token` admits `app/stream` now, else why not. */
  check(app: string, stream: string, token: string | undefined, now = Date.now() / 1000): string {
    if (!token) return 'no token';
    if (typeof token !== 'string') return 'malformed token';
    const match = /^([1-9]\d{0,11})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return 'malformed token';
    const expiresAt = Number(match[1]);
    // The canonical text compared, not the decoded bytes: base64url's last character carries
    // bits that decoding drops, so four spellings of one MAC would otherwise pass.
    const given = Buffer.from(match[2], 'ascii');
    const expected = Buffer.from(this.mac(`${app}/${stream}/${expiresAt}`).toString('base64url'), 'ascii');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return 'bad signature';
    if (expiresAt <= now) return 'expired token';
    return '';
  }
}
