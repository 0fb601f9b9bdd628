// Secrets in URLs: what redactUrl masks (a table), then the real paths a URL takes to the user
// with a real nginx-rtmp on loopback: errors of refused and failed publishes, FFmpeg's own log at
// debug level while publishing and playing, validation messages, and the command line's output.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { native } from '../lib/binding';
import { Client, Decoder, Encoder, onLog, pipeline, redactUrl, Server, setLogLevel, StreamcoderError } from '../lib';
import { runCli } from './helpers/cli';
import { fixture } from './helpers/fixtures';
import { freePort, startRtmpServer, type RtmpServer } from './helpers/servers';

// [url or text, what may be shown]
const TABLE: [string, string][] = [
  // userinfo, with and without a password; the last '@' ends it, as FFmpeg reads it
  ['rtsp://admin:hunter22@127.0.0.1:8554/cam', 'rtsp://***@127.0.0.1:8554/cam'],
  ['rtsp://admin@127.0.0.1/cam', 'rtsp://***@127.0.0.1/cam'],
  ['rtsp://user:p@ss@host/cam', 'rtsp://***@host/cam'],
  ['http://user:pw@host', 'http://***@host'],
  // the RTMP family: host and application kept, everything after the application masked
  ['rtmp://live.example.com/live/abcd-efgh-1234', 'rtmp://live.example.com/live/***'],
  ['rtmp://127.0.0.1:1935/app/stream/key', 'rtmp://127.0.0.1:1935/app/***'],
  ['rtmps://live-api-s.facebook.com:443/rtmp/FB-123-0-Ab', 'rtmps://live-api-s.facebook.com:443/rtmp/***'],
  ['rtmpt://h/live/k1', 'rtmpt://h/live/***'],
  ['rtmpe://h/live/k2', 'rtmpe://h/live/***'],
  ['rtmpte://h/live/k3', 'rtmpte://h/live/***'],
  ['rtmpts://h/live/k4', 'rtmpts://h/live/***'],
  ['RTMP://H/Live/UpperKey', 'RTMP://H/Live/***'],
  ['rtmp://bob:pw@h/live/key?token=t', 'rtmp://***@h/live/***?token=***'],
  ['rtmp://h/live', 'rtmp://h/live'],
  ['rtmp://h/live/', 'rtmp://h/live/'],
  ['rtmp://h', 'rtmp://h'],
  // query values (all of them), fragments
  ['https://cdn.example.com/hls/index.m3u8?token=abc123&expires=99&sig=zz', 'https://cdn.example.com/hls/index.m3u8?token=***&expires=***&sig=***'],
  ['http://h/p?token=&x=1', 'http://h/p?token=&x=***'],
  ['http://h/p?baretoken', 'http://h/p?***'],
  ['http://h/p?a=1;b=2', 'http://h/p?a=***;b=***'],
  ['srt://127.0.0.1:9000?mode=caller&streamid=publish:cam&passphrase=longpassphrase', 'srt://127.0.0.1:9000?mode=***&streamid=***&passphrase=***'],
  ['srt://h:9000?streamid=#!::r=live/cam,m=publish&passphrase=pw123456', 'srt://h:9000?streamid=#***'],
  ['http://h/page#access_token=xyz', 'http://h/page#***'],
  ['rtsp://h/cam?token=t#frag', 'rtsp://h/cam?token=***#***'],
  ['http://h/p#', 'http://h/p#'],
  // paths and plain files are not secrets
  ['rtsp://127.0.0.1:8554/live/cam', 'rtsp://127.0.0.1:8554/live/cam'],
  ['/home/user/videos/clip.mp4', '/home/user/videos/clip.mp4'],
  ['clip.mp4', 'clip.mp4'],
  ['file:///tmp/clip.mp4', 'file:///tmp/clip.mp4'],
  // URLs inside sentences: the words around them stay
  ["Cannot open 'rtmp://h:1935/live/key?token=t': Connection refused", "Cannot open 'rtmp://h:1935/live/***?token=***': Connection refused"],
  ['Cannot open "rtsp://a:b@h/x" now', 'Cannot open "rtsp://***@h/x" now'],
  ['two: rtsp://a:b@h1/x and rtmp://h2/live/k2 end', 'two: rtsp://***@h1/x and rtmp://h2/live/*** end'],
  ['(Cannot open connection tcp://127.0.0.1:1?tcp_nodelay=1)', '(Cannot open connection tcp://127.0.0.1:1?tcp_nodelay=***)'],
  ['<rtmp://h/live/key>', '<rtmp://h/live/***>'],
  ['rtmp://h/live/key\nnext line', 'rtmp://h/live/***\nnext line'],
  ['x-rtmp://h/live/key', 'x-rtmp://h/live/key'],
  // librtmp's options after the URL, a space each: every value masked, the words after them kept
  ['rtmp://h/live/KEY pubUser=bob pubPasswd=SECRET token=TOK', 'rtmp://h/live/*** pubUser=*** pubPasswd=*** token=***'],
  ["Cannot open 'rtmp://h/live/KEY pubPasswd=SECRET live=1': refused", "Cannot open 'rtmp://h/live/*** pubPasswd=*** live=***': refused"],
  ['rtmp://h/live/KEY conn=S:x and more words', 'rtmp://h/live/*** conn=*** and more words'],
  ['rtsp://h/cam pubPasswd=x', 'rtsp://h/cam pubPasswd=x'],
  ['no URL at all', 'no URL at all'],
  ['', ''],
];

describe('redactUrl', () => {
  test.each(TABLE)('%j', (text, shown) => {
    expect(redactUrl(text)).toBe(shown);
    // Masking what is masked changes nothing: messages pass through more than once.
    expect(redactUrl(shown)).toBe(shown);
  });

  test('is the native implementation: one for everything the library reports', () => {
    for (const [text] of TABLE) expect(redactUrl(text)).toBe(native.redactUrl(text));
  });

  test('a long text and a text made of URLs are handled in linear time', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `rtmp://h/live/key${i}?t=${i}`).join(' ');
    const started = performance.now();
    const shown = redactUrl(many);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(shown).not.toMatch(/key\d/);
    expect(shown.split(' ')).toHaveLength(20_000);
    expect(redactUrl(`rtsp://${'a'.repeat(1_000_000)}@h/x`)).toBe('rtsp://***@h/x');
  });
});

describe('validation messages that echo a URL', () => {
  const size = { width: 64, height: 48 };

  test.each([
    ['a NUL in an RTMP URL', () => Server.openSync('rtmp://127.0.0.1:1/live/validkey1\0x?token=tok12345', size)],
    ['a NUL before the key', () => Server.openSync('rtmp://127.0.0.1:1/live/\0validkey1?token=tok12345', size)],
    ['transport for a non-RTSP output', () => Server.openSync('rtmp://127.0.0.1:1/live/validkey1?token=tok12345', { ...size, transport: 'tcp' })],
    ['a Client with a NUL', () => Client.openSync('rtmp://127.0.0.1:1/live/validkey1\0?token=tok12345')],
    ['an Encoder path that is a URL with a NUL', () => Encoder.openSync('rtmp://u:pw1234@127.0.0.1:1/live/validkey1\0', size)],
  ])('%s: the message masks the key and token', (_name, call) => {
    let error: unknown;
    try {
      call();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StreamcoderError);
    const message = (error as StreamcoderError).message;
    expect((error as StreamcoderError).code).toBe('ERR_INVALID_ARGUMENT');
    expect(message).toContain('rtmp://');
    expect(message).not.toContain('validkey1');
    expect(message).not.toContain('tok12345');
    expect(message).not.toContain('pw1234');
  });

  test('pipeline(): an invalid option next to a URL with a key', async () => {
    const error = await pipeline({ input: fixture('h264-bframes.mp4'), output: 'rtmp://127.0.0.1:1/live/validkey1?token=tok12345', server: { transport: 'udp' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamcoderError);
    expect((error as Error).message).toContain('rtmp://127.0.0.1:1/live/***');
    expect((error as Error).message).not.toMatch(/validkey1|tok12345/);
  });
});

describe('against nginx-rtmp', () => {
  let rtmp: RtmpServer;
  const KEY = 'live_8391_Zq7XwP0c';
  const TOKEN = 'tok_51c9e2aa';
  const opts = { width: 64, height: 48, frameRate: 25, preset: 'ultrafast', timeoutMs: 5000 };
  const picture = new Uint8Array(64 * 48 * 3);
  const secretPattern = new RegExp(`${KEY}|${TOKEN}|Zq7XwP0c`);

  beforeAll(async () => {
    rtmp = await startRtmpServer();
  });
  afterAll(() => rtmp?.stop());

  test('an unreachable server: the error names it with key and token masked', async () => {
    const port = await freePort();
    const url = `rtmp://127.0.0.1:${port}/live/${KEY}?token=${TOKEN}`;
    const error = await Server.open(url, opts).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CONNECTION_REFUSED' });
    expect((error as Error).message).toContain(`rtmp://127.0.0.1:${port}/live/***?token=***`);
    expect((error as Error).message).not.toMatch(secretPattern);
    expect((error as Error).stack).not.toMatch(secretPattern);
  });

  test('a refused publish (the stream name is taken): the error quotes the server, the key masked', async () => {
    const url = `${rtmp.liveUrl(KEY)}?token=${TOKEN}`;
    const first = await Server.open(url, opts);
    try {
      first.serveFrame(picture);
      const error = await Server.open(url, opts).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamcoderError);
      expect((error as Error).message).toContain('Already publishing');
      expect((error as Error).message).toContain(`/live/***?token=***`);
      expect((error as Error).message).not.toMatch(secretPattern);
    } finally {
      await first.close();
    }
  });

  test('a publish to an application nginx does not have: the error masks the key', async () => {
    const error = await Server.open(`rtmp://127.0.0.1:${rtmp.port}/noapp/${KEY}?token=${TOKEN}`, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamcoderError);
    expect((error as Error).message).toContain(`rtmp://127.0.0.1:${rtmp.port}/noapp/***?token=***`);
    expect((error as Error).message).not.toMatch(secretPattern);
  });

  test("FFmpeg's debug log while publishing and playing a keyed stream: the key appears nowhere, not even alone", async () => {
    const lines: string[] = [];
    setLogLevel('debug');
    onLog((_level, line) => lines.push(line));
    try {
      const url = `${rtmp.liveUrl(KEY)}?token=${TOKEN}`;
      const srv = await Server.open(url, { ...opts, tune: 'zerolatency', gopSize: 5 });
      const client = await (async () => {
        // Play it back while it is pushed: the Client's own lines (its play command) too.
        const pushing = (async () => {
          for (let i = 0; i < 60; i++) await srv.serveBlock(picture);
        })();
        const cli = await Client.open(url, { lowLatency: true, timeoutMs: 5000 });
        // A Decoder reading the same stream: its reader's secrets are registered too.
        const dec = await Decoder.open(url, { timeoutMs: 5000 });
        dec.close();
        await pushing;
        return cli;
      })();
      client.close();
      await srv.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      onLog(null);
      setLogLevel('quiet');
    }
    // The lines that name the stream are there, masked: the check below saw real traffic.
    expect(lines.some((line) => line.includes("Sending publish command for '***"))).toBe(true);
    expect(lines.some((line) => line.includes("Sending play command for '***"))).toBe(true);
    expect(lines.some((line) => /fname = \*\*\*/.test(line))).toBe(true);
    expect(lines.filter((line) => secretPattern.test(line))).toEqual([]);
  });

  test('a stream key that is also in a local file name: the path stays readable in errors, the key alone is still masked', async () => {
    const lines: string[] = [];
    setLogLevel('debug');
    onLog((_level, line) => lines.push(line));
    const srv = await Server.open(`${rtmp.liveUrl('cam1show')}?token=${TOKEN}`, { ...opts, tune: 'zerolatency' });
    try {
      srv.serveFrame(picture);
      const failure = (source: string) => Decoder.open(source).then(() => null, (e: unknown) => e as StreamcoderError);
      for (const source of ['/nonexistent-media/cam1show-clips/cam1show.mp4', 'file:///nonexistent-media/cam1show.mp4', '/nonexistent-media/my cam1show.mp4']) {
        const error = await failure(source);
        expect(error?.code, source).toBe('ERR_NOT_FOUND');
        expect(error!.message, source).toContain(source);
      }
      // A path component that is the key, whole, is masked (FFmpeg logs "path = /live/KEY").
      expect((await failure('/nonexistent-media/cam1show/a.mp4'))!.message).toContain("'/nonexistent-media/***/a.mp4'");
    } finally {
      await srv.close();
      onLog(null);
      setLogLevel('quiet');
    }
    // Outside a path the key is still a secret: FFmpeg's own line names it alone, masked.
    expect(lines.some((line) => line.includes("Sending publish command for '***"))).toBe(true);
    expect(lines.filter((line) => /cam1show/.test(line) && !line.includes('/nonexistent-media/'))).toEqual([]);
  });

  test('an rtmp_playpath option is a secret too', async () => {
    const lines: string[] = [];
    setLogLevel('debug');
    onLog((_level, line) => lines.push(line));
    try {
      const srv = await Server.open(`rtmp://127.0.0.1:${rtmp.port}/live`, { ...opts, formatOptions: { rtmp_playpath: KEY } });
      srv.serveFrame(picture);
      await srv.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      onLog(null);
      setLogLevel('quiet');
    }
    expect(lines.some((line) => line.includes("Sending publish command for '***'"))).toBe(true);
    expect(lines.filter((line) => secretPattern.test(line))).toEqual([]);
  });

  describe('the command line', () => {
    const clip = fixture('h264-bframes.mp4');

    test('push: the summary names the server with the key and token masked; progress and the log too', async () => {
      const url = `${rtmp.liveUrl(`${KEY}a`)}?token=${TOKEN}`;
      const result = await runCli(['push', clip, url, '--no-realtime', '--frames', '30', '--log-level', 'debug']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^pushed 30 frames \\([\\d:.]+\\) to rtmp://127\\.0\\.0\\.1:${rtmp.port}/live/\\*\\*\\*\\?token=\\*\\*\\* in `, 'm'));
      expect(result.stderr).toContain("Sending publish command for '***");
      expect(result.stdout).not.toMatch(secretPattern);
      expect(result.stderr).not.toMatch(secretPattern);
    });

    test('push --json: no key in any report', async () => {
      const result = await runCli(['push', clip, `${rtmp.liveUrl(`${KEY}b`)}?token=${TOKEN}`, '--no-realtime', '--frames', '30', '--json']);
      expect(result.code, result.stderr).toBe(0);
      const reports = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(reports.at(-1)).toMatchObject({ frames: 30 });
      expect(result.stdout).not.toMatch(secretPattern);
      expect(result.stderr).not.toMatch(secretPattern);
    });

    test('push to a server that is not there: one error line, masked, also with --verbose', async () => {
      const port = await freePort();
      const result = await runCli(['push', clip, `rtmp://user:pass1234@127.0.0.1:${port}/live/${KEY}?token=${TOKEN}`, '--verbose', '--timeout', '3000']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`rtmp://***@127.0.0.1:${port}/live/***?token=***`);
      expect(`${result.stdout}${result.stderr}`).not.toMatch(secretPattern);
      expect(result.stderr).not.toContain('pass1234');
    });

    test('probe --json of a keyed URL that does not answer: masked in the error', async () => {
      const port = await freePort();
      const result = await runCli(['probe', `rtmp://127.0.0.1:${port}/live/${KEY}?token=${TOKEN}`, '--json', '--timeout', '2000']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`/live/***?token=***`);
      expect(`${result.stdout}${result.stderr}`).not.toMatch(secretPattern);
    });
  });
});
