import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { clients, type Clients } from './support/protos.js';
import { startService, type RunningService } from './support/lookaside.js';
import { launchBrowser } from './support/browser.js';
import { openReport, steadyLoad } from './support/streams.js';

describe('the live dashboard, in headless Chromium', () => {
  let service: RunningService;
  let c: Clients;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const base = () => `http://127.0.0.1:${service.httpPort}`;

  before(async () => {
    service = await startService({ env: { LOOKASIDE_FLEET_REFRESH_MS: '100', LOOKASIDE_MAX_DASHBOARD_CLIENTS: '2' } });
    c = clients(service.grpcAddress);
    browser = await launchBrowser();
    page = await browser.newPage();
    // A CSP violation or a script error shows up here.
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    c?.close();
    await service?.stop();
  });

  it('shows a backend when it registers, follows its state, and removes it when it leaves', async () => {
    const response = await page.goto(`${base()}/dashboard`);
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'none'; script-src 'sha256-/);
    await page.waitForSelector('#connection[data-connection="live"]', { timeout: 10_000 });
    await page.waitForSelector('text=No services yet', { timeout: 10_000 });

    const backend = openReport(c);
    backend.register('web', '127.0.0.1', 9601, { zone: 'zone-a', labels: { note: '<img src=x onerror="window.pwned=1">' }, load: steadyLoad(40, 0.3) });
    await backend.registered();
    const row = page.locator('[data-backend="web/127.0.0.1:9601"]');
    await row.waitFor({ timeout: 10_000 });
    assert.equal(await row.getAttribute('data-state'), 'SERVING');
    assert.match(await row.innerText(), /127\.0\.0\.1:9601\s+zone-a\s+SERVING/);
    assert.equal(await page.locator('[data-service="web"]').count(), 1);

    backend.report(steadyLoad(40, 0.3), 'DRAINING');
    await page.waitForSelector('[data-backend="web/127.0.0.1:9601"][data-state="DRAINING"]', { timeout: 10_000 });

    // What reporters send is shown as text, never run.
    assert.match(await row.innerText(), /note=<img src=x onerror="window\.pwned=1">/);
    assert.equal(await page.evaluate('window.pwned'), undefined);

    backend.stream.end();
    await backend.recorded.ended();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    assert.ok(Number(await page.evaluate('document.body.dataset.updates')) >= 3, 'the page updated live, without a reload');
    assert.deepEqual(problems, []);
  });

  it('holds at most LOOKASIDE_MAX_DASHBOARD_CLIENTS event streams', async () => {
    // The page holds one; a second fits, a third is refused.
    const second = new AbortController();
    const open = await fetch(`${base()}/dashboard/events`, { signal: second.signal });
    assert.equal(open.status, 200);
    assert.match(open.headers.get('content-type') ?? '', /^text\/event-stream/);
    const refused = await fetch(`${base()}/dashboard/events`);
    assert.equal(refused.status, 503);
    assert.match(await refused.text(), /LOOKASIDE_MAX_DASHBOARD_CLIENTS/);
    second.abort();
  });
});
