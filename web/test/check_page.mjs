#!/usr/bin/env node
// Loads a yoloscope report (file://) or live page (http://) in real headless
// Chromium (Debian's /usr/bin/chromium driven by playwright-core) and writes
// what it saw as JSON, for tests/report/*_browser_test.cc to judge:
//
//   node web/test/check_page.mjs --url URL --result out.json [--screenshot out.png]
//        [--chart-shots DIR] [--jump-shot PNG] [--mode report|live] [--click-findings N]
//        [--min-updates N] [--timeout MS]
//
// Result: {ok, error, console_errors, page_errors, failed_requests, requests,
//          ready, report_errors, containers, nodata, charts: [{id, kind, series,
//          rows, colored_pixels, canvas}], jumps: [{band, chart, in_view,
//          active, x_min, x_max, start, end, charts_on_range}], updates,
//          streams_hidden, streams: [{stream, cells: {COLUMN: text}}] (the live
//          page's per-stream panel)}.
// playwright-core starts Chromium with a fresh temporary profile (its own
// --user-data-dir) and removes it afterwards.
// Exit status: 0 when the page was examined (whatever it showed), 2 when the
// browser could not be driven (the JSON says why).
import {writeFileSync} from 'node:fs';

function parseArgs(argv) {
  const out = {mode: 'report', clickFindings: 0, minUpdates: 0, timeout: 30000, width: 1400};
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--url') { out.url = v; i++; }
    else if (a === '--result') { out.result = v; i++; }
    else if (a === '--screenshot') { out.screenshot = v; i++; }
    else if (a === '--chart-shots') { out.chartShots = v; i++; }
    else if (a === '--jump-shot') { out.jumpShot = v; i++; }
    else if (a === '--mode') { out.mode = v; i++; }
    else if (a === '--click-findings') { out.clickFindings = parseInt(v, 10); i++; }
    else if (a === '--min-updates') { out.minUpdates = parseInt(v, 10); i++; }
    else if (a === '--timeout') { out.timeout = parseInt(v, 10); i++; }
    else if (a === '--width') { out.width = parseInt(v, 10); i++; }
    else throw new Error('unknown argument ' + a);
  }
  if (!out.url || !out.result) throw new Error('--url and --result are required');
  return out;
}

// Per chart: uPlot's series / rows, and how many canvas pixels carry a
// saturated, opaque colour (series strokes and fills; axes, grid and the
// translucent bands are grey or faint and do not count).
function inspectCharts() {
  const st = window.ysReport || {};
  const out = [];
  for (const id of Object.keys(st.charts || {})) {
    const u = st.charts[id];
    const c = u.ctx.canvas;
    const px = u.ctx.getImageData(0, 0, c.width, c.height).data;
    let colored = 0;
    for (let i = 0; i < px.length; i += 4) {
      const r = px[i], g = px[i + 1], b = px[i + 2], a = px[i + 3];
      if (a > 160 && Math.max(r, g, b) - Math.min(r, g, b) > 50) colored++;
    }
    out.push({id, kind: u.ysSpec ? u.ysSpec.kind : null, series: u.series.length - 1,
              rows: u.data[0].length, colored_pixels: colored, canvas: [c.width, c.height],
              x_min: u.scales.x.min, x_max: u.scales.x.max});
  }
  return out;
}

async function main() {
  const args = parseArgs(process.argv);
  const result = {ok: false, error: null, console_errors: [], page_errors: [], failed_requests: [],
                  requests: [], ready: false, report_errors: [], containers: [], nodata: [],
                  charts: [], jumps: [], updates: 0, streams_hidden: null, streams: []};
  let browser = null;
  try {
    const {chromium} = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', '--no-first-run',
             '--disable-dev-shm-usage'],
    });
    const context = await browser.newContext({viewport: {width: args.width, height: 900}});
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') result.console_errors.push(m.text()); });
    page.on('pageerror', (e) => result.page_errors.push(String(e && e.message || e)));
    page.on('request', (r) => result.requests.push(r.url()));
    page.on('requestfailed', (r) => result.failed_requests.push(r.url() + ' ' + (r.failure() || {}).errorText));
    await page.goto(args.url, {waitUntil: 'load', timeout: args.timeout});
    await page.waitForFunction(() => window.ysReport && window.ysReport.ready === true,
                               null, {timeout: args.timeout});
    result.ready = true;
    if (args.minUpdates > 0) {
      await page.waitForFunction((n) => window.ysReport.updates >= n, args.minUpdates,
                                 {timeout: args.timeout});
    }
    // Let uPlot's deferred commits and the range sync settle.
    await page.waitForTimeout(300);
    result.containers = await page.$$eval('.ys-chart', (els) => els.map((e) => e.getAttribute('data-chart')));
    result.nodata = await page.$$eval('.ys-chart .ys-nodata', (els) =>
        els.map((e) => e.closest('.ys-chart').getAttribute('data-chart')));
    result.charts = await page.evaluate(inspectCharts);
    // The live page's per-stream panel: its rows' cells by column, as shown.
    result.streams_hidden = await page.evaluate(() => {
      const el = document.getElementById('streams');
      return el ? el.hidden : null;
    });
    result.streams = await page.$$eval('#ys-streams-body tr', (rows) => rows.map((tr) => {
      const cells = {};
      for (const td of tr.children) cells[td.getAttribute('data-col')] = td.textContent;
      return {stream: tr.getAttribute('data-stream'), cells};
    }));
    result.updates = await page.evaluate(() => window.ysReport.updates);
    if (args.screenshot) await page.screenshot({path: args.screenshot, fullPage: true});
    if (args.chartShots) {
      for (const card of await page.$$('.ys-chart-card')) {
        const id = await card.getAttribute('id');
        await card.screenshot({path: args.chartShots + '/' + id + '.png'});
      }
    }

    const links = await page.$$('a.ys-jump[data-band]');
    for (const link of links.slice(0, args.clickFindings)) {
      const band = await link.getAttribute('data-band');
      const chart = await link.getAttribute('data-chart');
      await page.evaluate(() => window.scrollTo(0, 0));
      await link.click();
      await page.waitForTimeout(250);
      const seen = await page.evaluate(({band, chart}) => {
        const card = document.getElementById('chart-' + chart);
        const r = card ? card.getBoundingClientRect() : null;
        const st = window.ysReport;
        const u = st.charts[chart];
        const times = Object.keys(st.charts).map((k) => st.charts[k]).filter((c) => c.ysSpec.kind === 'time');
        const onRange = times.filter((c) => st.xRange &&
            Math.abs(c.scales.x.min - st.xRange[0]) < 1e-6 && Math.abs(c.scales.x.max - st.xRange[1]) < 1e-6).length;
        return {
          band, chart,
          in_view: !!r && r.top < window.innerHeight && r.bottom > 0,
          active: !!st.activeBand && st.activeBand.id === band,
          start: st.activeBand ? st.activeBand.start : null,
          end: st.activeBand ? st.activeBand.end : null,
          x_min: u ? u.scales.x.min : null, x_max: u ? u.scales.x.max : null,
          full: st.fullRange, zoomed: st.zoomed,
          time_charts: times.length, charts_on_range: onRange,
          hash: location.hash,
        };
      }, {band, chart});
      result.jumps.push(seen);
      if (args.jumpShot && result.jumps.length === 1) await page.screenshot({path: args.jumpShot});
    }
    result.report_errors = await page.evaluate(() => window.ysReport.errors.slice());
    result.ok = true;
  } catch (e) {
    result.error = String(e && e.stack || e);
  } finally {
    if (browser) await browser.close().catch(() => {});
  }
  writeFileSync(args.result, JSON.stringify(result, null, 2));
  process.exit(result.ok ? 0 : 2);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
