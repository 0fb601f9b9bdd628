// The status page of streamcoder serve in a real headless browser: Debian's Chromium driven by
// puppeteer-core. It loads the page, sees a stream turn live (with its fps and graph), clicks
// stop, sees it stopped (and the API agrees), clicks start. The page's CSP must hold: no console
// errors.
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './helpers/fixtures';
import { startRtmpServer, type RtmpServer } from './helpers/servers';
import { startService, type RunningService, type StreamResource } from './helpers/serve';

const CHROMIUM = '/usr/bin/chromium';

let nginx: RtmpServer;
let service: RunningService;
let browser: Browser;

beforeAll(async () => {
  nginx = await startRtmpServer();
  service = await startService();
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
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
    const row = 'tr[data-id="page-cam"]';
    await page.waitForSelector(`${row}[data-state="live"]`, { timeout: 30_000 });
    await page.waitForFunction((selector) => Number(document.querySelector(`${selector} .fps`)?.textContent) > 5, { timeout: 15_000 }, row);
    expect(await page.$eval(`${row} .bitrate`, (cell) => cell.textContent)).toMatch(/^\d+ kb\/s$/);
    expect(await page.$eval(`${row} canvas`, (canvas) => (canvas as HTMLCanvasElement).toDataURL().length)).toBeGreaterThan(200);
    expect(await page.$eval(`${row} button.start`, (button) => (button as HTMLButtonElement).hidden)).toBe(true);

    await page.click(`${row} button.stop`);
    await page.waitForSelector(`${row}[data-state="stopped"]`, { timeout: 15_000 });
    const stopped = await service.api<StreamResource>('GET', '/v1/streams/page-cam');
    expect(stopped.body.state).toBe('stopped');
    expect(stopped.body.pid).toBeNull();

    await page.click(`${row} button.start`);
    await page.waitForSelector(`${row}[data-state="live"]`, { timeout: 30_000 });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('asks for the token when it has none or a wrong one', async () => {
    const page = await browser.newPage();
    await page.goto(`${service.url}/#token=wrong-token-wrong-token`);
    await page.waitForSelector('#login:not([hidden])', { timeout: 10_000 });
    expect(await page.$$('tr[data-id]')).toHaveLength(0);
    await page.type('#token', service.token);
    await page.click('#login button');
    await page.waitForSelector('tr[data-id="page-cam"]', { timeout: 10_000 });
    await page.close();
  });
});
