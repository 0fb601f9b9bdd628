// The service's small parts on their own: the backoff, the token comparison, publish tokens,
// the streams file's atomic write and its checks when read back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listenWarning } from '../lib/cli/serve';
import { loadApiToken, tokenFault, tokenMatches } from '../lib/service/auth';
import { PublishTokens } from '../lib/service/publish-tokens';
import { escapeControl } from '../lib/service/service';
import { storedSpecFaults } from '../lib/service/spec';
import { StreamStore } from '../lib/service/store';
import { backoffDelay } from '../lib/service/supervisor';
import { runCli } from './helpers/cli';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-serve-unit-'));

describe('backoffDelay', () => {
  it('doubles from backoffMs and stops at maxBackoffMs', () => {
    const options = { backoffMs: 500, maxBackoffMs: 10_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelay(n, options))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });
});

describe('tokenMatches', () => {
  it('takes exactly "Bearer <token>"', () => {
    const token = 'abcdefghijklmnopqrstuvwxyz';
    expect(tokenMatches(`Bearer ${token}`, token)).toBe(true);
    // The scheme's name in any case (RFC 9110), as clients send it.
    expect(tokenMatches(`bearer ${token}`, token)).toBe(true);
    expect(tokenMatches(`BEARER ${token}`, token)).toBe(true);
    for (const header of [undefined, '', token, `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Bearer  ${token}`, `Basic ${token}`]) {
      expect(tokenMatches(header, token), String(header)).toBe(false);
    }
    expect(tokenFault(undefined)).toBe('a bearer token is required: Authorization: Bearer <token>');
    expect(tokenFault(`Basic ${token}`)).toBe('a bearer token is required: Authorization: Bearer <token>');
    expect(tokenFault('Bearer wrong-token-of-some-length')).toBe('the bearer token is not the one this service takes');
  });
});

describe('PublishTokens', () => {
  it('admits its own token for that app and stream until it expires, and nothing else', () => {
    const dir = tempDir();
    const tokens = PublishTokens.inDir(dir);
    const now = 1_800_000_000;
    const token = tokens.sign('live', 'cam', now + 60);
    expect(tokens.check('live', 'cam', token, now)).toBe('');
    expect(tokens.check('live', 'cam', token, now + 60)).toBe('expired token');
    expect(tokens.check('live', 'cam2', token, now)).toBe('bad signature');
    expect(tokens.check('rec', 'cam', token, now)).toBe('bad signature');
    expect(tokens.check('live', 'cam', token.replace(/^\d+/, String(now + 6000)), now)).toBe('bad signature');
    expect(tokens.check('live', 'cam', undefined, now)).toBe('no token');
    expect(tokens.check('live', 'cam', 'x.y', now)).toBe('malformed token');
    // The secret outlives a restart; another data directory's does not admit it.
    expect(PublishTokens.inDir(dir).check('live', 'cam', token, now)).toBe('');
    expect(PublishTokens.inDir(tempDir()).check('live', 'cam', token, now)).toBe('bad signature');
    expect(fs.statSync(path.join(dir, 'publish-secret')).mode & 0o777).toBe(0o600);
  });
});

describe('StreamStore', () => {
  it('writes through a temp file and a rename, mode 0600, and reads back what it wrote', () => {
    const store = new StreamStore(tempDir());
    const none = () => [];
    expect(store.load(none)).toEqual([]);
    const streams = [{ spec: { id: 'a', input: '/x.mp4', outputs: [{ url: 'rtmp://h/live/key' }] }, desired: 'running' as const, createdAt: 1 }];
    store.save(streams);
    const inode = fs.statSync(store.file).ino;
    store.save([...streams, { ...streams[0], spec: { ...streams[0].spec, id: 'b' }, desired: 'stopped' as const }]);
    // A new file each time, renamed over the old one: a reader never sees half a file.
    expect(fs.statSync(store.file).ino).not.toBe(inode);
    expect(store.load(none).map((s) => [s.spec.id, s.desired])).toEqual([['a', 'running'], ['b', 'stopped']]);
    expect(fs.statSync(store.file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(store.dir)).toEqual(['streams.json']);
  });
});

describe('escapeControl', () => {
  it('writes a line that quotes text on one line: control characters as escapes, the rest as it is', () => {
    expect(escapeControl('stream a: failed: bad\n2026-01-01 stream b: live\r\t\u001b[2J\u007f ünï')).toBe('stream a: failed: bad\\n2026-01-01 stream b: live\\r\\t\\x1b[2J\\x7f ünï');
  });
});

describe('the streams file read back', () => {
  const media = tempDir();
  const clip = path.join(media, 'clip.mp4');
  fs.writeFileSync(clip, 'not really a clip');
  const policy = { schemes: ['file', 'rtmp'], directories: [fs.realpathSync(media)] };
  const good = { id: 'ok', input: clip, outputs: [{ url: 'rtmp://127.0.0.1/live/a' }] };

  it("takes a spec the API takes, and finds in one it would refuse the API's faults", () => {
    expect(storedSpecFaults(good, policy)).toEqual([]);
    // A file gone since is the run's failure, not the file's.
    expect(storedSpecFaults({ ...good, input: path.join(media, 'gone.mp4') }, policy)).toEqual([]);
    expect(storedSpecFaults({ ...good, input: '/etc/passwd' }, policy)).toEqual([`input: files must lie in ${policy.directories[0]}`]);
    expect(storedSpecFaults({ ...good, outputs: [{ url: 'file:///tmp/out.flv' }] }, policy)).toEqual(["outputs[0].url: scheme 'file' is not allowed (allowed: rtmp, rtmps, rtsp, srt)"]);
    expect(storedSpecFaults({ input: clip, outputs: [{ url: 'rtmp://h/live/a' }] }, policy)).toEqual(["spec must have required property 'id'"]);
    expect(storedSpecFaults({ ...good, outputs: [{ url: 'rtmp://h/live/a', size: '99999999x1' }] }, policy)).toEqual(['outputs.0.size must match pattern "^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$"']);
    expect(storedSpecFaults('a string', policy)).toEqual(['spec must be object']);
  });

  it('a file that is not whole JSON, or holds a stream the API would refuse, is an error naming the file and the way out; it stays as it is', () => {
    const dir = tempDir();
    const store = new StreamStore(dir);
    const faultsOf = (spec: unknown) => storedSpecFaults(spec, policy);
    store.save([{ spec: good, desired: 'running', createdAt: 1 }, { spec: { ...good, id: 'two' }, desired: 'stopped', createdAt: 2 }]);
    expect(store.load(faultsOf)).toHaveLength(2);
    const whole = fs.readFileSync(store.file, 'utf8');
    const cases: [string, RegExp][] = [
      [whole.slice(0, 120), /not JSON \(/],
      [JSON.stringify({ version: 2, streams: [] }), /not a streams file of version 1/],
      [JSON.stringify({ version: 1, streams: [{ spec: { ...good, input: '/etc/passwd' }, desired: 'running', createdAt: 1 }] }), /streams\[0\] \(ok\): input: files must lie in/],
      [JSON.stringify({ version: 1, streams: [{ spec: good, desired: 'maybe', createdAt: 1 }, { spec: good, desired: 'running', createdAt: 1 }] }), /streams\[0\] \(ok\)\.desired: one of running, stopped, finished; streams\[1\] \(ok\): the id ok twice/],
    ];
    for (const [text, fault] of cases) {
      fs.writeFileSync(store.file, text);
      let message = '';
      try {
        store.load(faultsOf);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(fault);
      expect(message).toContain(`cannot load ${store.file}: `);
      expect(message).toContain(`correct it, or move it aside (mv ${store.file} ${store.file}.bad) to start with no streams`);
      expect(fs.readFileSync(store.file, 'utf8')).toBe(text);
    }
  });

  it('streamcoder serve refuses to start on a truncated streams file, naming it, and leaves it whole', async () => {
    const dir = tempDir();
    const store = new StreamStore(dir);
    store.save([{ spec: good, desired: 'stopped', createdAt: 1 }]);
    const truncated = fs.readFileSync(store.file, 'utf8').slice(0, 100);
    fs.writeFileSync(store.file, truncated);
    const run = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', dir, '--allow-dir', media]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`streamcoder: cannot load ${store.file}: not JSON (`);
    expect(run.stderr).toContain('move it aside');
    expect(run.stdout).not.toContain('listening');
    expect(fs.readFileSync(store.file, 'utf8')).toBe(truncated);
  });
});

describe('what serve warns of, and refuses, at start', () => {
  it('a token file others can read is a warning naming the file and the fix; a 0600 one is not', () => {
    const dir = tempDir();
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, `${'t'.repeat(32)}\n`, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    expect(loadApiToken(file, dir).warning).toBe(`${file} can be read by others (mode 0644): chmod 600 ${file}`);
    fs.chmodSync(file, 0o600);
    expect(loadApiToken(file, dir).warning).toBeUndefined();
    // The one it makes itself is 0600.
    expect(loadApiToken(undefined, dir).warning).toBeUndefined();
  });

  it('listening beyond loopback is a warning', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost', '127.0.0.2']) expect(listenWarning(host), host).toBeNull();
    for (const host of ['0.0.0.0', '::', '192.168.1.5']) expect(listenWarning(host), host).toMatch(/not loopback: the API \(its bearer token in clear text\)/);
  });

  it('--allow-schemes with a scheme the service cannot take as an input is refused (exit 2), naming it', async () => {
    const run = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', tempDir(), '--allow-schemes', 'file,tcp,concat,bogus']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--allow-schemes: tcp, concat, bogus cannot be an input here (the service takes file, rtmp, rtmps, rtsp, srt, http, https)');
  });
});

describe('streamcoder serve arguments', () => {
  it('refuses a bad --listen (exit 2) and a short token (exit 1)', async () => {
    const listen = await runCli(['serve', '--listen', 'nope']);
    expect(listen.code).toBe(2);
    expect(listen.stderr).toContain("--listen expects host:port such as 127.0.0.1:8080 or [::1]:8080, got 'nope'");
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'token'), 'short\n');
    const token = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', dir, '--token-file', path.join(dir, 'token')]);
    expect(token.code).toBe(1);
    expect(token.stderr).toContain('the token must be at least 16 characters');
  });
});
