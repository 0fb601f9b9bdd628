// The status page of streamcoder serve in a real headless browser: Debian's Chromium driven by
// puppeteer-core. It loads the page, sees a stream turn live (with its fps and graph), clicks
// stop, sees it stopped (and the API agrees), clicks start. The page's CSP must hold: no console
// errors.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/browser';
import { fixture, FIXTURE_DIR } from './helpers/fixtures';
import { freePort, startRtmpServer, type RtmpServer } from './helpers/servers';
import { startService, type RunningService, type StreamResource } from './helpers/serve';

let nginx: RtmpServer;
let service: RunningService;
let browser: Browser;

beforeAll(async () => {
  nginx = await startRtmpServer();
  service = await startService();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await nginx?.stop();
});

/** The mean colour of the stream's thumbnail as the page shows it, drawn on a canvas in the page. */
async function thumbnailColour(page: import('puppeteer-core').Page, id: string): Promise<[number, number, number] | null> {
  return page.evaluate((selector) => {
    const img = document.querySelector(selector) as HTMLImageElement | null;
    if (!img || img.hidden || !img.complete || img.naturalWidth === 0) return null;
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d')!;
    context.drawImage(img, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const sum = [0, 0, 0];
    for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sum[c] += data[i + c];
    const n = data.length / 4;
    return sum.map((v) => v / n) as [number, number, number];
  }, `tbody.stream[data-id="${id}"] img.thumb`);
}

const isMagenta = (c: [number, number, number] | null) => c !== null && c[0] > 180 && c[1] < 80 && c[2] > 180;
const isBlue = (c: [number, number, number] | null) => c !== null && c[2] > 150 && c[0] < 90 && c[1] < 120;

async function waitForColour(page: import('puppeteer-core').Page, id: string, test: (c: [number, number, number] | null) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: [number, number, number] | null = null;
  while (Date.now() < deadline) {
    last = await thumbnailColour(page, id);
    if (test(last)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the thumbnail of ${id} did not turn as expected within ${timeoutMs} ms (last mean colour: ${last?.map(Math.round).join(', ') ?? 'none'})`);
}

describe('the status page', () => {
  it("shows a thumbnail of what each stream sends: a channel's program, then its slate when the source dies, and what is on air", async () => {
    const slate = path.join(FIXTURE_DIR, `.serve-page-slate-${process.pid}.png`);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=magenta:size=64x48', '-frames:v', '1', slate]);
    const source = nginx.liveUrl('page-channel-src');
    const publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'color=c=blue:size=320x180:rate=25',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-f', 'flv', source], { stdio: 'ignore' });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const created = await service.api('POST', '/v1/streams', {
        id: 'page-channel', input: source, slate, inputTimeout: 1,
        outputs: [{ url: nginx.liveUrl('page-channel-out'), bitrate: '200k', preset: 'ultrafast' }],
      });
      expect(created.status, created.text).toBe(201);
      await page.goto(`${service.url}/#token=${encodeURIComponent(service.token)}`);
      await waitForColour(page, 'page-channel', isBlue, 20_000);
      const onAir = `tbody.stream[data-id="page-channel"] .onair`;
      expect(await page.$eval(onAir, (e) => e.textContent)).toMatch(/^on air: rtmp:\/\/127\.0\.0\.1:\d+\/live\/\*\*\*$/);
      publisher.kill('SIGKILL');
      await waitForColour(page, 'page-channel', isMagenta, 20_000);
      await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === 'on air: slate (1 switches)', { timeout: 10_000 }, onAir);
      // The API serves the same picture, a JPEG, to the token's holder only.
      const jpeg = await fetch(`${service.url}/v1/streams/page-channel/thumbnail`, { headers: { authorization: `Bearer ${service.token}` } });
      expect(jpeg.status).toBe(200);
      expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
      expect([...new Uint8Array(await jpeg.arrayBuffer()).subarray(0, 2)]).toEqual([0xff, 0xd8]);
      expect((await fetch(`${service.url}/v1/streams/page-channel/thumbnail`)).status).toBe(401);
      expect((await service.api('GET', '/v1/streams/no-such/thumbnail')).status).toBe(404);
      expect(problems, problems.join('\n')).toEqual([]);
    } finally {
      publisher.kill('SIGKILL');
      await page.close();
      await service.api('DELETE', '/v1/streams/page-channel');
      fs.rmSync(slate, { force: true });
    }
  }, 90_000);

  it('shows a stream turn live, stops it and starts it with its buttons', async () => {
    const created = await service.api('POST', '/v1/streams', {
      id: 'page-cam', input: fixture('av.mp4'), outputs: [{ url: nginx.liveUrl('page-cam'), size: '160x120', bitrate: 200000, preset: 'ultrafast' }], loop: true,
    });
    expect(created.status).toBe(201);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    await page.goto(`${service.url}/#token=${encodeURIComponent(service.token)}`);
    // The token leaves the address bar at once.
    expect(new URL(page.url()).hash).toBe('');
    const group = 'tbody.stream[data-id="page-cam"]';
    const row = `${group} tr.stream-row`;
    await page.waitForSelector(`${group}[data-state="live"]`, { timeout: 30_000 });
    await page.waitForFunction((selector) => Number(document.querySelector(`${selector} .fps`)?.textContent) > 5, { timeout: 15_000 }, row);
    expect(await page.$eval(`${row} .bitrate`, (cell) => cell.textContent)).toMatch(/^\d+ kb\/s$/);
    expect(await page.$eval(`${row} canvas`, (canvas) => (canvas as HTMLCanvasElement).toDataURL().length)).toBeGreaterThan(200);
    expect(await page.$eval(`${row} button.start`, (button) => (button as HTMLButtonElement).hidden)).toBe(true);

    await page.click(`${row} button.stop`);
    await page.waitForSelector(`${group}[data-state="stopped"]`, { timeout: 15_000 });
    const stopped = await service.api<StreamResource>('GET', '/v1/streams/page-cam');
    expect(stopped.body.state).toBe('stopped');
    expect(stopped.body.pid).toBeNull();

    await page.click(`${row} button.start`);
    await page.waitForSelector(`${group}[data-state="live"]`, { timeout: 30_000 });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows every output in a row of its own, the input, the problems and the last error in the viewer\'s zone; restarts and deletes', async () => {
    const port = await freePort();
    const created = await service.api('POST', '/v1/streams', {
      id: 'page-two', input: fixture('av.mp4'), loop: true,
      outputs: [
        { url: nginx.liveUrl('page-two-a'), size: '96x64', bitrate: 100000, preset: 'ultrafast' },
        { url: `rtmp://127.0.0.1:${port}/live/page-two-b`, size: '96x64', preset: 'ultrafast' },
      ],
    });
    expect(created.status).toBe(201);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(String(error)));
    await page.emulateTimezone('Asia/Tokyo');
    await page.goto(`${service.url}/#token=${encodeURIComponent(service.token)}`);
    const group = 'tbody.stream[data-id="page-two"]';
    const row = `${group} tr.stream-row`;
    await page.waitForSelector(`${group}[data-state="degraded"]`, { timeout: 30_000 });
    await page.waitForSelector(`${group} tr.output[data-index="1"][data-state="retrying"]`, { timeout: 15_000 });
    const outputs = await page.$$eval(`${group} tr.output`, (rows) => rows.map((r) => ({
      index: r.querySelector('.index')!.textContent, state: r.querySelector('.state')!.textContent, url: r.querySelector('.url')!.textContent, error: r.querySelector('.error')!.textContent,
    })));
    expect(outputs).toEqual([
      { index: 'output 0', state: 'live', url: expect.stringMatching(/^rtmp:\/\/127\.0\.0\.1:\d+\/live\/\*\*\*$/), error: '' },
      { index: 'output 1', state: 'retrying', url: `rtmp://127.0.0.1:${port}/live/***`, error: expect.stringMatching(/refused/i) },
    ]);
    expect(await page.$eval(`${row} .input`, (cell) => cell.textContent)).toBe(`${fixture('av.mp4')} (h264 160x120 25 fps)`);
    expect(await page.$eval(`${row} .problems`, (cell) => cell.textContent)).toMatch(/^output 1 \(.*\) is retrying: .*refused/i);
    // The last error's time in the viewer's zone (Tokyo here), not the server's UTC.
    const api = (await service.api<StreamResource>('GET', '/v1/streams/page-two')).body;
    const language = await page.evaluate(() => navigator.language);
    const tokyo = new Date(api.lastError!.at).toLocaleString(language, { timeZone: 'Asia/Tokyo', dateStyle: 'short', timeStyle: 'medium' });
    expect(await page.$eval(`${row} .error`, (cell) => cell.textContent)).toBe(`${tokyo}: ${api.lastError!.message}`);

    // Restart: a new process.
    await page.click(`${row} button.restart`);
    const restarted = await service.waitFor('page-two', (s) => s.pid !== null && s.pid !== api.pid, 20_000);
    expect(restarted.restarts).toBe(0);
    // Delete, once the dialog is accepted: the stream is gone from the page and the API.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click(`${row} button.delete`);
    await page.waitForFunction((selector) => !document.querySelector(selector), { timeout: 15_000 }, group);
    expect((await service.api('GET', '/v1/streams/page-two')).status).toBe(404);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('asks for the token when it has none or a wrong one', async () => {
    const page = await browser.newPage();
    await page.goto(`${service.url}/#token=wrong-token-wrong-token`);
    await page.waitForSelector('#login:not([hidden])', { timeout: 10_000 });
    expect(await page.$$('tbody.stream')).toHaveLength(0);
    await page.type('#token', service.token);
    await page.click('#login button');
    await page.waitForSelector('tbody.stream[data-id="page-cam"]', { timeout: 10_000 });
    await page.close();
  });
});
