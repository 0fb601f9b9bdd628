// The status page of streamcoder serve in a real headless browser: Debian's Chromium driven by
// puppeteer-core. It loads the page, sees a stream turn live (with its fps and graph), clicks
// stop, sees it stopped (and the API agrees), clicks start. The page's CSP must hold: no console
// errors.
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/browser';
import { fixture } from './helpers/fixtures';
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

describe('the status page', () => {
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
