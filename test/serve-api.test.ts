// streamcoder serve's HTTP API from the outside: the real CLI on a loopback port, real HTTP calls
// (Node's fetch), a real nginx-rtmp. Tokens, request validation, input restrictions, masked URLs,
// /metrics, and publish tokens checked by nginx-rtmp's on_publish against the service.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChild } from './helpers/child';
import { fixture, FIXTURE_DIR } from './helpers/fixtures';
import { freePort, startRtmpServer, type RtmpServer } from './helpers/servers';
import { readLive, startService, type RunningService, type StreamResource } from './helpers/serve';
import { startThrottleProxy } from './helpers/throttle-proxy';
import { makeHls, playlistOf } from './helpers/hls';

let service: RunningService;
let nginx: RtmpServer;

beforeAll(async () => {
  const rtmpPort = await freePort();
  service = await startService({ args: ['--rtmp-url', `rtmp://127.0.0.1:${rtmpPort}`] });
  nginx = await startRtmpServer(rtmpPort, { onPublish: `${service.url}/v1/rtmp/on-publish` });
});

afterAll(async () => {
  const code = await service?.stop();
  await nginx?.stop();
  expect(code).toBe(130);
});

const input = () => fixture('av.mp4');

describe('the bearer token', () => {
  it('is needed on every call but /healthz and the page', async () => {
    // The startup says where the page is, never the token itself.
    expect(service.output()).toContain(`streamcoder serve: status page at ${service.url}/ (it asks for the token)`);
    expect(service.output()).not.toContain(service.token);
    expect((await service.api('GET', '/healthz', undefined, null)).status).toBe(200);
    expect((await service.api('GET', '/', undefined, null)).status).toBe(200);
    for (const [method, route] of [['GET', '/v1/streams'], ['GET', '/metrics'], ['POST', '/v1/streams'], ['DELETE', '/v1/streams/x'], ['POST', '/v1/publish-urls'], ['GET', '/v1/nothing']]) {
      const none = await service.api(method, route, undefined, null);
      expect(none.status, `${method} ${route}`).toBe(401);
      expect(none.body.messages[0]).toMatch(/bearer token is required/);
      expect((await service.api(method, route, undefined, 'x'.repeat(43))).status).toBe(401);
      expect((await service.api(method, route, undefined, `${service.token}x`)).status).toBe(401);
    }
    expect((await service.api('GET', '/v1/streams')).status).toBe(200);
    // The scheme's name in any case; a wrong token is told as wrong, not as missing.
    const lower = await fetch(`${service.url}/v1/streams`, { headers: { authorization: `bearer ${service.token}` } });
    expect(lower.status).toBe(200);
    const wrong = await service.api('GET', '/v1/streams', undefined, 'x'.repeat(43));
    expect(wrong.body.messages).toEqual(['the bearer token is not the one this service takes']);
  });

  it('takes a POST that needs no body with a JSON content type and an empty body', async () => {
    const answer = await fetch(`${service.url}/v1/streams/no-such/stop`, { method: 'POST', headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' } });
    expect(answer.status).toBe(404);
    // A body that is there must still be JSON, and free of prototype tricks.
    const bad = await fetch(`${service.url}/v1/streams`, { method: 'POST', headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' }, body: '{"__proto__": {"x": 1}, "input": "/a", "outputs": []}' });
    expect(bad.status).toBe(400);
  });
});

describe('a bad body', () => {
  const post = (body: unknown) => service.api<{ error: string; messages: string[] }>('POST', '/v1/streams', body);
  it('gets a 400 with one clear message per fault', async () => {
    let answer = await post({});
    expect(answer.status).toBe(400);
    expect(answer.body.messages.sort()).toEqual(["body: 'input' is required", "body: 'outputs' is required"]);
    answer = await post({ input: input(), outputs: [{ url: 5, size: 'big', bitrate: 'fast', preset: 'warp' }], loop: 'yes', colour: 'red', id: '../x', probe: 0 });
    expect(answer.status).toBe(400);
    expect(answer.body.messages.sort()).toEqual([
      "body: unknown property 'colour'",
      "id: must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
      'loop: must be boolean',
      "outputs[0].bitrate: must be bits per second: an integer from 10000 to 200000000, or a string such as '2500k' or '2.5M'",
      'outputs[0].preset: must be one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow',
      'outputs[0].size: must be WIDTHxHEIGHT, such as 1280x720',
      'outputs[0].url: must be string',
      'probe: must be >= 0.01',
    ]);
    answer = await post({ input: input(), outputs: [] });
    expect(answer.body.messages).toEqual(['outputs: must NOT have fewer than 1 items']);
  });

  it('refuses inputs outside the allowed schemes and directory, and outputs that are not servers', async () => {
    const out = [{ url: nginx.liveUrl('x') }];
    const cases: [unknown, string][] = [
      [{ input: '/etc/passwd', outputs: out }, 'input: files must lie in '],
      [{ input: `${input()}/../../../etc/passwd`, outputs: out }, 'input: '],
      [{ input: 'file:///etc/hostname', outputs: out }, 'input: files must lie in '],
      [{ input: 'relative.mp4', outputs: out }, 'input: a file input must be an absolute path'],
      [{ input: 'lavfi://testsrc', outputs: out }, "input: scheme 'lavfi' is not allowed"],
      [{ input: 'concat:/a|/b', outputs: out }, 'input: a file input must be an absolute path'],
      [{ input: input(), outputs: [{ url: '/tmp/out.flv' }] }, "outputs[0].url: scheme '?' is not allowed"],
      [{ input: input(), outputs: [{ url: 'file:///tmp/out.flv' }] }, "outputs[0].url: scheme 'file' is not allowed"],
      [{ input: input(), outputs: [{ url: nginx.liveUrl('a') }, { url: nginx.liveUrl('a'), size: '640x360' }] }, 'outputs[1].url: the same URL twice'],
      // Fallbacks and the slate are inputs too: the same schemes and directories.
      [{ input: input(), outputs: out, slate: '/etc/hostname' }, 'slate: files must lie in '],
      [{ input: input(), outputs: out, slate: 'http://127.0.0.1:9/slate.png' }, 'slate: an image or clip file in an allowed directory'],
      [{ input: input(), outputs: out, fallbacks: [nginx.liveUrl('b'), 'lavfi://testsrc'] }, "fallbacks[1]: scheme 'lavfi' is not allowed"],
      [{ input: input(), outputs: out, fallbacks: ['/etc/passwd'] }, 'fallbacks[0]: files must lie in '],
      [{ input: input(), outputs: out, slate: input(), loop: true }, 'loop: a looped input has no fallbacks or slate'],
      [{ input: input(), outputs: out, inputTimeout: 2 }, 'inputTimeout: means nothing without fallbacks or a slate'],
    ];
    // A link inside the allowed directory to a file outside it.
    const link = path.join(FIXTURE_DIR, `.serve-api-link-${process.pid}`);
    fs.symlinkSync('/etc/hostname', link);
    cases.push([{ input: link, outputs: out }, 'input: files must lie in ']);
    try {
      for (const [body, message] of cases) {
        const answer = await post(body);
        expect(answer.status, JSON.stringify(body)).toBe(400);
        expect(answer.body.messages.join('\n'), JSON.stringify(body)).toContain(message);
      }
    } finally {
      fs.rmSync(link);
    }
  });

  it("holds a stream to the operator's bounds when its input is open: the pixel rate of its outputs, the input's size; failed at once, not retried", async () => {
    // Eight 4K outputs of a 25 fps input: 1.66 G pixels a second, past the default 498 M.
    const created = await service.api('POST', '/v1/streams', {
      id: 'too-much', input: input(), outputs: Array.from({ length: 8 }, (_, i) => ({ url: nginx.liveUrl(`too-much-${i}`), size: '3840x2160', preset: 'ultrafast' })),
    });
    expect(created.status, created.text).toBe(201);
    const failed = await service.waitFor('too-much', (st) => st.state === 'failed', 30_000);
    expect(failed.lastError!.message).toMatch(/^The outputs would encode 1658880000 pixels a second at the input's 25 fps \(output 0 .*\), more than maxPixelRate \(497664000\)$/);
    expect(failed).toMatchObject({ restarts: 0, pid: null });
    expect((await service.api('DELETE', '/v1/streams/too-much')).status).toBe(204);
    // An input larger than 3840x2160 (the default --max-input-pixels).
    const big = path.join(FIXTURE_DIR, 'serve-big-input.mp4');
    try {
      const made = await runChild('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=size=4096x2304:rate=25', '-frames:v', '2', '-c:v', 'libx264', '-preset', 'ultrafast', big], { timeout: 60_000 });
      expect(made.status, made.stderr).toBe(0);
      expect((await service.api('POST', '/v1/streams', { id: 'big-input', input: big, outputs: [{ url: nginx.liveUrl('big-input'), size: '96x64' }] })).status).toBe(201);
      const refused = await service.waitFor('big-input', (st) => st.state === 'failed', 30_000);
      expect(refused.lastError!.message).toMatch(/4096x2304 \(9437184 pixels\), more than maxPixels \(8294400\)/);
      expect(refused.restarts).toBe(0);
      expect((await service.api('DELETE', '/v1/streams/big-input')).status).toBe(204);
    } finally {
      fs.rmSync(big, { force: true });
    }
  });

  it('confines a playlist to the allowed directory: segments outside give nothing, and the same error whether they exist or not', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-outside-'));
    const names = ['escape-abs.m3u8', 'escape-abs-missing.m3u8', 'escape-up.m3u8', 'escape-up-missing.m3u8'];
    try {
      await makeHls(outside, 'seg', '96x64');
      const up = path.relative(FIXTURE_DIR, outside);
      fs.writeFileSync(path.join(FIXTURE_DIR, names[0]), playlistOf([path.join(outside, 'seg0.ts'), path.join(outside, 'seg1.ts')]));
      fs.writeFileSync(path.join(FIXTURE_DIR, names[1]), playlistOf([path.join(outside, 'gone0.ts'), path.join(outside, 'gone1.ts')]));
      fs.writeFileSync(path.join(FIXTURE_DIR, names[2]), playlistOf([`${up}/seg0.ts`, `${up}/seg1.ts`]));
      fs.writeFileSync(path.join(FIXTURE_DIR, names[3]), playlistOf([`${up}/gone0.ts`, `${up}/gone1.ts`]));
      const errors: string[] = [];
      for (const name of names) {
        const id = name.replace('.m3u8', '');
        const created = await service.api('POST', '/v1/streams', { id, input: path.join(FIXTURE_DIR, name), outputs: [{ url: nginx.liveUrl(id), size: '96x64', preset: 'ultrafast' }] });
        expect(created.status, created.text).toBe(201);
        const failed = await service.waitFor(id, (st) => st.lastError !== null, 30_000);
        expect(failed.outputs[0].frames, name).toBe(0);
        errors.push(failed.lastError!.message.replaceAll(name, '<playlist>').replace(/'[^']*\.ts'/g, "'<segment>'"));
        expect((await service.api('DELETE', `/v1/streams/${id}`)).status).toBe(204);
      }
      expect(errors[0]).toBe(errors[1]);
      expect(errors[2]).toBe(errors[3]);
      // The API itself answers an input outside the same way, whether it exists or not.
      const refusal = async (input: string) => (await service.api('POST', '/v1/streams', { input, outputs: [{ url: nginx.liveUrl('x') }] })).body;
      expect(await refusal(path.join(outside, 'seg.m3u8'))).toEqual(await refusal(path.join(outside, 'none.m3u8')));
      expect(await refusal(path.join(FIXTURE_DIR, up, 'seg.m3u8'))).toEqual(await refusal(path.join(FIXTURE_DIR, up, 'none.m3u8')));
    } finally {
      for (const name of names) fs.rmSync(path.join(FIXTURE_DIR, name), { force: true });
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses outputs that would make the service listen, sizes past the bound, and bit rate strings out of range, as numbers are', async () => {
    const cases: [unknown, string][] = [
      [{ input: input(), outputs: [{ url: 'srt://0.0.0.0:19999?mode=listener' }] }, 'outputs[0].url: the service only connects out; it does not listen (mode=listener)'],
      [{ input: input(), outputs: [{ url: 'srt://127.0.0.1:19999?MODE=rendezvous' }] }, 'it does not listen (MODE=rendezvous)'],
      [{ input: input(), outputs: [{ url: 'rtsp://127.0.0.1:8554/x?listen=1' }] }, 'it does not listen (listen=1)'],
      [{ input: input(), outputs: [{ url: nginx.liveUrl('x'), size: '8192x8192' }] }, `outputs[0].size: 8192x8192 is more than the ${3840 * 2160} pixels an output may have`],
      [{ input: input(), outputs: [{ url: nginx.liveUrl('x'), bitrate: '999999M' }] }, 'outputs[0].bitrate: 999999M is 999999000000 bits per second, not from 10000 to 200000000'],
      [{ input: input(), outputs: [{ url: nginx.liveUrl('x'), bitrate: '0' }] }, 'outputs[0].bitrate: 0 is 0 bits per second'],
      [{ input: input(), outputs: [{ url: nginx.liveUrl('x'), bitrate: 0 }] }, "outputs[0].bitrate: must be bits per second"],
    ];
    for (const [body, message] of cases) {
      const answer = await post(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.messages.join('\n'), JSON.stringify(body)).toContain(message);
    }
    // A caller, at the bound, is taken.
    const fine = await post({ id: 'bounds-ok', input: input(), outputs: [{ url: 'srt://127.0.0.1:19998?mode=caller', size: '3840x2160', bitrate: '200M' }] });
    expect(fine.status).toBe(201);
    expect((await service.api('DELETE', '/v1/streams/bounds-ok')).status).toBe(204);
  });

  it('refuses a scheme in upper case, naming the one FFmpeg knows; takes a file:// input with an escaped space', async () => {
    for (const [body, message] of [
      [{ input: 'HTTP://127.0.0.1/a.m3u8', outputs: [{ url: nginx.liveUrl('x') }] }, 'input: write the scheme in lower case (http://)'],
      [{ input: `FILE://${input()}`, outputs: [{ url: nginx.liveUrl('x') }] }, 'input: write the scheme in lower case (file://)'],
      [{ input: input(), outputs: [{ url: nginx.liveUrl('x').replace('rtmp://', 'RTMP://') }] }, 'outputs[0].url: write the scheme in lower case (rtmp://)'],
    ] as const) {
      const answer = await post(body);
      expect(answer.status).toBe(400);
      expect(answer.body.messages).toEqual([message]);
    }
    const spaced = path.join(FIXTURE_DIR, `.serve-api space ${process.pid}.mp4`);
    fs.copyFileSync(input(), spaced);
    try {
      const answer = await post({ id: 'spaced', input: `file://${spaced.replace(/ /g, '%20')}`, outputs: [{ url: nginx.liveUrl('spaced') }], realtime: false });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      expect((await service.api('DELETE', '/v1/streams/spaced')).status).toBe(204);
    } finally {
      fs.rmSync(spaced);
    }
  });

  it('refuses URLs with control characters or white space (a newline would forge a log line)', async () => {
    for (const url of [`${nginx.liveUrl('x')}\n2026-01-01T00:00:00.000Z stream forged: live`, `${nginx.liveUrl('x')} pubPasswd=SECRET`, `${nginx.liveUrl('x')}\u001b[2J`]) {
      const answer = await post({ input: input(), outputs: [{ url }] });
      expect(answer.status, JSON.stringify(url)).toBe(400);
      expect(answer.body.messages).toEqual(['outputs[0].url: must hold no white space or control characters (a newline, a tab)']);
    }
    const input2 = await post({ input: `${input()}\n`, outputs: [{ url: nginx.liveUrl('x') }] });
    expect(input2.body.messages).toEqual(['input: must hold no white space or control characters (a newline, a tab)']);
  });

  it('closes a request whose body trickles in (408 at the 10 s bound, not Node\'s 300 s)', async () => {
    const { port } = new URL(service.url);
    const started = performance.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /v1/streams HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${service.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
        const drip = setInterval(() => socket.write(' '), 1000);
        let text = '';
        socket.on('data', (chunk) => (text += chunk));
        socket.on('close', () => {
          clearInterval(drip);
          resolve(text);
        });
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error('still open after 30 s')), 30_000);
    });
    const seconds = (performance.now() - started) / 1000;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(seconds).toBeGreaterThan(9);
    expect(seconds).toBeLessThan(25);
  }, 40_000);

  it('gets 400 for JSON that does not parse, 413 past the size limit, 415 for another type', async () => {
    expect((await post('{"input": ')).status).toBe(400);
    const huge = await post({ input: 'x'.repeat(70_000), outputs: [{ url: 'rtmp://h/a/b' }] });
    expect(huge.status).toBe(413);
    const form = await fetch(`${service.url}/v1/streams`, { method: 'POST', headers: { authorization: `Bearer ${service.token}`, 'content-type': 'text/plain' }, body: 'x' });
    expect(form.status).toBe(415);
    expect((await service.api('GET', '/v1/streams/no-such')).status).toBe(404);
    expect((await service.api('POST', '/v1/streams/bad%20id/stop')).status).toBe(400);
  });
});

describe('a stream', () => {
  it('runs, shows masked URLs everywhere, and appears in /metrics', async () => {
    const secretUrl = `rtmp://alice:pa55word@127.0.0.1:${nginx.port}/live/streamkey-0123`;
    const created = await service.api<StreamResource>('POST', '/v1/streams', { id: 'masked', input: input(), outputs: [{ url: secretUrl, size: '160x120', bitrate: '300k', preset: 'ultrafast' }], loop: true, probe: 2.5 });
    expect(created.status).toBe(201);
    expect(created.body.outputs[0].url).toBe(`rtmp://***@127.0.0.1:${nginx.port}/live/***`);
    expect((created.body as unknown as { probe: number }).probe).toBe(2.5);
    const again = await service.api('POST', '/v1/streams', { id: 'masked', input: input(), outputs: [{ url: nginx.liveUrl('other') }] });
    expect(again.status).toBe(409);
    const live = await service.waitFor('masked', (s) => s.state === 'live' && s.outputs[0].frames > 25);
    expect(live.attempt).toEqual({ n: 1, of: 10 });
    expect(live.outputs[0]).toMatchObject({ state: 'live', reconnects: 0 });
    expect(live.outputs[0].fps).toBeGreaterThan(10);
    const metrics = await service.api<string>('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain(`streamcoder_output_up{stream="masked",output="0",url="rtmp://***@127.0.0.1:${nginx.port}/live/***"} 1`);
    expect(metrics.text).toContain('streamcoder_stream_state{stream="masked",state="live"} 1');
    expect(metrics.text).toMatch(/streamcoder_output_frames_total\{stream="masked"[^}]*\} [1-9]\d*/);
    const everything = [metrics.text, (await service.api('GET', '/v1/streams')).text, service.output()].join('\n');
    expect(everything).not.toContain('pa55word');
    expect(everything).not.toContain('streamkey-0123');
    const stopped = await service.api<StreamResource>('POST', '/v1/streams/masked/stop');
    expect(stopped.body.state).toBe('stopped');
    expect(stopped.body.pid).toBeNull();
    expect((await service.api('DELETE', '/v1/streams/masked')).status).toBe(204);
    expect((await service.api('GET', '/v1/streams/masked')).status).toBe(404);
  });
});

describe('a channel with a slate', () => {
  it('keeps its output up when its live source dies: the resource and /metrics say the slate is on air, then the program again', async () => {
    const slate = path.join(FIXTURE_DIR, `.serve-api-slate-${process.pid}.png`);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=magenta:size=64x48', '-frames:v', '1', slate]);
    const source = nginx.liveUrl('channel-src');
    const publish = () => spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=sample_rate=48000',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', source], { stdio: 'ignore' });
    let publisher = publish();
    type Channel = StreamResource & { onAir: { current: string; switches: number; slateSeconds: number } | null; slate: string | null };
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const created = await service.api<Channel>('POST', '/v1/streams', {
        id: 'channel', input: source, slate, inputTimeout: 1,
        outputs: [{ url: nginx.liveUrl('channel-out'), bitrate: '300k', preset: 'ultrafast' }],
      });
      expect(created.status, created.text).toBe(201);
      expect(created.body.slate).toBe(slate);
      const onAir = (s: StreamResource) => (s as Channel).onAir;
      const program = await service.waitFor('channel', (s) => s.state === 'live' && onAir(s)?.current !== undefined && onAir(s)?.current !== 'slate' && s.outputs[0].frames > 25);
      expect(onAir(program)).toMatchObject({ switches: 0 });
      publisher.kill('SIGKILL');
      const slated = await service.waitFor('channel', (s) => onAir(s)?.current === 'slate', 15_000);
      expect(slated.state).toBe('live');
      let metrics = (await service.api<string>('GET', '/metrics')).text;
      expect(metrics).toContain('streamcoder_stream_on_slate{stream="channel"} 1');
      publisher = publish();
      const back = await service.waitFor('channel', (s) => onAir(s)?.current !== 'slate' && onAir(s)!.switches === 2, 20_000);
      expect(back.state).toBe('live');
      expect(back.restarts).toBe(0);
      metrics = (await service.api<string>('GET', '/metrics')).text;
      expect(metrics).toContain('streamcoder_stream_on_slate{stream="channel"} 0');
      expect(metrics).toContain('streamcoder_stream_input_switches_total{stream="channel"} 2');
      expect(metrics).toMatch(/streamcoder_stream_slate_seconds_total\{stream="channel"\} (0\.[5-9]|[1-9])/);
    } finally {
      publisher.kill('SIGKILL');
      await service.api('DELETE', '/v1/streams/channel');
      fs.rmSync(slate, { force: true });
    }
  }, 60_000);
});

describe('a stream with several outputs', () => {
  it('feeds a ladder from one decode in one process: each output at its size, each read back, each in the resource', async () => {
    const created = await service.api<StreamResource>('POST', '/v1/streams', {
      id: 'ladder', input: input(), loop: true,
      outputs: [{ url: nginx.liveUrl('ladder-big'), bitrate: '300k', preset: 'ultrafast' }, { url: nginx.liveUrl('ladder-small'), size: '96x64', bitrate: '100k', preset: 'ultrafast' }],
    });
    expect(created.status, created.text).toBe(201);
    const live = await service.waitFor('ladder', (s) => s.state === 'live' && s.outputs.every((o) => o.frames > 25));
    expect(live.outputs.map((o) => o.state)).toEqual(['live', 'live']);
    for (const [name, size] of [['ladder-big', '160x120'], ['ladder-small', '96x64']]) {
      const probe = await runChild('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0:s=x', nginx.liveUrl(name)], { timeout: 20_000 });
      expect(probe.stdout.trim(), probe.stderr).toBe(size);
    }
    expect((await service.api('DELETE', '/v1/streams/ladder')).status).toBe(204);
  });

  it('an output whose server is down at the start is retried alone: the stream says degraded (API, /metrics) until it is live, the other output untouched', async () => {
    const port = await freePort();
    const created = await service.api<StreamResource>('POST', '/v1/streams', {
      id: 'half', input: input(), loop: true,
      outputs: [{ url: nginx.liveUrl('half-ok'), size: '96x64', bitrate: '100k', preset: 'ultrafast' }, { url: `rtmp://127.0.0.1:${port}/live/half-late`, size: '96x64', preset: 'ultrafast' }],
    });
    expect(created.status, created.text).toBe(201);
    const half = await service.waitFor('half', (s) => s.state === 'degraded' && s.outputs[0].frames > 25 && s.outputs[1].state === 'retrying');
    expect(half.outputs[1].error).toMatch(/refused/i);
    expect(half.outputs[0]).toMatchObject({ state: 'live', error: null, retries: 0 });
    expect(half.problems).toEqual([expect.stringMatching(/^output 1 \(rtmp:\/\/127\.0\.0\.1:\d+\/live\/\*\*\*\) is retrying: .*refused/i)]);
    expect(half.lastError).toMatchObject({ message: half.problems[0], resolvedAt: null });
    expect(half.restarts).toBe(0);
    const metrics = (await service.api('GET', '/metrics')).text;
    expect(metrics).toMatch(/streamcoder_stream_state\{stream="half",state="degraded"\} 1/);
    expect(metrics).toMatch(/streamcoder_output_state\{stream="half",output="1",url="[^"]*",state="retrying"\} 1/);
    // Its server comes up on that port: the output goes live by itself; the stream's process and
    // the other output were never touched.
    const late = await startRtmpServer(port);
    try {
      const back = await service.waitFor('half', (s) => s.state === 'live' && s.outputs[1].state === 'live' && s.outputs[1].frames > 25, 40_000);
      expect(back.outputs[1].retries).toBeGreaterThanOrEqual(1);
      expect(back).toMatchObject({ restarts: 0, pid: half.pid, problems: [] });
      expect(back.outputs[0].frames).toBeGreaterThan(half.outputs[0].frames);
      expect(back.lastError?.message).toBe(half.lastError!.message);
      expect(Date.parse(back.lastError!.resolvedAt!)).toBeGreaterThan(Date.parse(back.lastError!.at));
      const read = await readLive(late.liveUrl('half-late'), 10);
      expect(read.ok, read.stderr.slice(-500)).toBe(true);
    } finally {
      expect((await service.api('DELETE', '/v1/streams/half')).status).toBe(204);
      await late.stop();
    }
  });

  it("an output that cannot keep the input's rate makes the stream degraded, saying how slow", async () => {
    // 300 kbit/s for several times that of pictures and sound: once the socket buffers are full,
    // a few frames a second.
    const proxy = await startThrottleProxy(nginx.port, 300_000);
    try {
      const created = await service.api<StreamResource>('POST', '/v1/streams', {
        id: 'slow', input: input(), loop: true, outputs: [{ url: `rtmp://127.0.0.1:${proxy.port}/live/slow`, size: '320x240', bitrate: '2M', preset: 'ultrafast' }],
      });
      expect(created.status, created.text).toBe(201);
      const slow = await service.waitFor('slow', (s) => s.state === 'degraded', 60_000);
      expect(slow.outputs[0].state).toBe('live');
      const rate = slow.inputInfo!.frameRate!;
      expect(slow.problems).toEqual([expect.stringMatching(new RegExp(`^output 0 \\(.*\\) cannot keep the input's rate: [\\d.]+ fps of ${rate}$`))]);
      expect(Number(/([\d.]+) fps of/.exec(slow.problems[0])![1])).toBeLessThan(0.9 * rate);
    } finally {
      expect((await service.api('DELETE', '/v1/streams/slow')).status).toBe(204);
      await proxy.close();
    }
  }, 90_000);
});

describe('publish tokens', () => {
  // The ffmpeg CLI as an outside publisher: 2 s of a test picture to `url`.
  const publish = (url: string) => runChild('ffmpeg', ['-hide_banner', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '2',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-f', 'flv', url], { timeout: 20_000 });
  const issue = async (stream: string, ttlSeconds: number) => {
    const answer = await service.api<{ url: string; expiresAt: string }>('POST', '/v1/publish-urls', { app: 'auth', stream, ttlSeconds });
    expect(answer.status).toBe(201);
    return answer.body.url;
  };

  it('admits a publish with a fresh token, and nginx-rtmp refuses a bad, foreign or expired one', async () => {
    const fresh = await issue('cam1', 60);
    expect(fresh).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.1:${nginx.port}/auth/cam1\\?token=\\d+\\.[A-Za-z0-9_-]{43}$`));
    const expiring = await issue('cam1', 1);
    const accepted = await publish(fresh);
    expect(accepted.status, accepted.stderr).toBe(0);
    const token = new URL(fresh).searchParams.get('token')!;
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const refusals = await Promise.all([
      publish(nginx.authUrl('cam1')),
      publish(`${nginx.authUrl('cam1')}?token=${forged}`),
      publish(`${nginx.authUrl('cam2')}?token=${token}`),
    ]);
    for (const refused of refusals) expect(refused.status).not.toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2100 - 0));
    const expired = await publish(expiring);
    expect(expired.status).not.toBe(0);
  });

  it("on_publish takes strings once each, and a token's canonical spelling only", async () => {
    const token = new URL(await issue('cam3', 60)).searchParams.get('token')!;
    const onPublish = (body: string, type = 'application/x-www-form-urlencoded') => fetch(`${service.url}/v1/rtmp/on-publish`, { method: 'POST', headers: { 'content-type': type }, body });
    expect((await onPublish(`call=publish&app=auth&name=cam3&token=${token}`)).status).toBe(200);
    // The same MAC spelled with other trailing bits (the last of 43 characters holds 2 unused bits).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(token.at(-1)!);
    const twin = `${token.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(twin.split('.')[1], 'base64url')).toEqual(Buffer.from(token.split('.')[1], 'base64url'));
    expect((await onPublish(`call=publish&app=auth&name=cam3&token=${twin}`)).status).toBe(403);
    // Two tokens (the last would win), a JSON object for a field, an array for the token.
    expect((await onPublish(`call=publish&app=auth&name=cam3&token=bad&token=${token}`)).status).toBe(400);
    expect((await onPublish(JSON.stringify({ app: { toString: 1 }, name: 'cam3', token }), 'application/json')).status).toBe(400);
    expect((await onPublish(JSON.stringify({ app: 'auth', name: 'cam3', token: [token] }), 'application/json')).status).toBe(400);
    expect((await onPublish(JSON.stringify({ app: 'auth', name: 'cam3', token }), 'application/json')).status).toBe(200);
  });

  it('validates the request', async () => {
    const answer = await service.api<{ messages: string[] }>('POST', '/v1/publish-urls', { app: 'a/b', stream: 'x', ttlSeconds: 0 });
    expect(answer.status).toBe(400);
    expect(answer.body.messages.sort()).toEqual(["app: must be 1 to 64 letters, digits, '_' or '-'", 'ttlSeconds: must be >= 1']);
  });
});
