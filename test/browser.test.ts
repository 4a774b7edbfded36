/**
 * The curve-fit page (examples/curve-fit/browser/) in a real browser.
 *
 * Builds the page with Vite and the dualtape Vite plugin (`dualtape/vite`,
 * from dist/: run `npm run build` first) into a fresh temporary directory,
 * serves it on 127.0.0.1, opens it in headless Chromium through
 * playwright-core, and checks that
 *
 * - the fitted parameters, the loss and the gradients printed on the page are
 *   the numbers the same code (examples/curve-fit/fit.ts) gives in Node;
 * - those gradients agree with central finite differences of the loss;
 * - no page error, console error or failed request happened;
 * - the build has a source map, and an error thrown inside a differentiated
 *   function maps back to its line in the TypeScript source.
 *
 * A screenshot goes to the temporary directory; with UPDATE_SCREENSHOT=1 it is
 * also written to examples/curve-fit/browser/screenshot.png (shown in docs/guide.md).
 *
 * Chromium: see test/helpers/chromium.ts (CHROMIUM, /usr/bin/chromium, or the
 * binary shipped in the npm package @sparticuz/chromium).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/chromium.ts';
import { DEFAULTS, fitCurve, loss, lossAndGrad, type FitResult, type Sample } from '../examples/curve-fit/fit.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const pageRoot = join(repo, 'examples/curve-fit/browser');

let tmp = '';
let outDir = '';
let server: Server | undefined;
let origin = '';
let browser: Browser | undefined;

/** Serves `root` (the build output) on 127.0.0.1 at a free port. */
async function serve(root: string): Promise<Server> {
  const types: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.map': 'application/json',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
  };
  const s = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((done, fail) => {
    s.once('error', fail);
    s.listen(0, '127.0.0.1', done);
  });
  return s;
}

interface Opened {
  page: Page;
  /** Page errors, console errors and failed or non-OK requests. */
  problems: string[];
}

/** Opens the page (with an optional query) and waits until its script has finished. */
async function open(query = ''): Promise<Opened> {
  const page = await browser!.newPage({ viewport: { width: 1080, height: 720 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.stack ?? e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(`${origin}/${query}`);
  await page.waitForSelector('body:not([data-status="running"])', { timeout: 30_000 });
  return { page, problems };
}

/** `name = value` lines of an element, values as numbers (printed with full precision). */
async function readNumbers(page: Page, selector: string): Promise<Map<string, number>> {
  const text = (await page.textContent(selector)) ?? '';
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*(.+?)\s*=\s*(\S+)\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** |a - b| <= tol · max(|a|, |b|), componentwise. */
function expectClose(actual: number[], expected: number[], tol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => {
    const b = expected[i]!;
    const err = Math.abs(a - b);
    expect(err <= tol * Math.max(Math.abs(a), Math.abs(b)), `${what}[${i}]: page ${a} vs node ${b}`).toBe(true);
  });
}

/** Central differences with one Richardson step (error O(h⁴)). */
function finiteDifferences(f: (p: number[]) => number, p: number[], h = 1e-3): number[] {
  const central = (i: number, step: number) => {
    const up = [...p];
    const down = [...p];
    up[i] += step;
    down[i] -= step;
    return (f(up) - f(down)) / (2 * step);
  };
  return p.map((_, i) => (4 * central(i, h / 2) - central(i, h)) / 3);
}

beforeAll(async () => {
  if (!existsSync(join(repo, 'dist/runtime/index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (the page imports dualtape through its package exports)');
  }
  tmp = mkdtempSync(join(tmpdir(), 'dualtape-browser-'));
  outDir = join(tmp, 'dist');
  await build({
    root: pageRoot,
    configFile: join(pageRoot, 'vite.config.ts'),
    cacheDir: join(tmp, 'vite-cache'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  server = await serve(outDir);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  origin = `http://127.0.0.1:${address.port}`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  if (tmp && !process.env['KEEP_BROWSER_TMP']) rmSync(tmp, { recursive: true, force: true });
});

describe('curve-fit page in Chromium', () => {
  let page: Page;
  let problems: string[];
  let node: FitResult;
  const onPage = { params: [] as number[], grad: [] as number[], gradStart: [] as number[], loss: NaN };

  beforeAll(async () => {
    ({ page, problems } = await open());
    node = fitCurve();
    onPage.params = [...(await readNumbers(page, '#params')).values()];
    onPage.grad = [...(await readNumbers(page, '#grad')).values()];
    onPage.gradStart = [...(await readNumbers(page, '#grad-start')).values()];
    onPage.loss = (await readNumbers(page, '#loss')).get('final') ?? NaN;
  });

  it('runs the fit without errors', async () => {
    expect(await page.getAttribute('body', 'data-status'), await page.textContent('#status') ?? '').toBe('done');
    expect(problems).toEqual([]);
  });

  it('shows the numbers the same code computes in Node', () => {
    expect(onPage.params).toHaveLength(3);
    const [, nodeGradStart] = lossAndGrad([...DEFAULTS.start], node.data);
    expectClose(onPage.params, node.params, 1e-12, 'params');
    expectClose([onPage.loss], [node.loss], 1e-12, 'loss');
    expectClose(onPage.gradStart, nodeGradStart, 1e-12, 'gradient at the start');
    // Same code, same float64 arithmetic, but not the same libm: Chromium's V8
    // and Node 20's V8 round Math.exp/log/cos differently in the last bit for
    // some arguments. The gradient at the fit is ~1e-5, a sum of terms ~1e-2
    // that cancel, so those last bits show up at ~1e-12 of its own size: it is
    // compared on the scale of the gradient at the start instead.
    const scale = Math.max(...nodeGradStart.map(Math.abs));
    onPage.grad.forEach((g, i) =>
      expect(Math.abs(g - node.gradient[i]!), `gradient[${i}]: page ${g} vs node ${node.gradient[i]}`).toBeLessThan(1e-12 * scale),
    );
    // The fit went somewhere sensible: near the parameters the data came from, gradient ~ 0.
    expectClose(onPage.params, [...DEFAULTS.truth], 0.1, 'params vs truth');
    expect(Math.max(...onPage.grad.map(Math.abs))).toBeLessThan(1e-3);
  });

  it('shows gradients that agree with finite differences of the loss', () => {
    const data: Sample[] = node.data;
    const f = (p: number[]) => loss(p, data);
    // At the start the gradient is O(1); at the fit it is ~1e-5, so compare on an absolute scale.
    const start = [...DEFAULTS.start];
    const fdStart = finiteDifferences(f, start);
    const fdEnd = finiteDifferences(f, onPage.params);
    const scale = Math.max(...fdStart.map(Math.abs));
    onPage.gradStart.forEach((g, i) => expect(Math.abs(g - fdStart[i]!)).toBeLessThan(1e-10 * scale));
    onPage.grad.forEach((g, i) => expect(Math.abs(g - fdEnd[i]!)).toBeLessThan(1e-12));
  });

  it('plots the data and the fitted curve', async () => {
    expect(await page.locator('#plot circle').count()).toBe(node.data.length + 1); // + legend marker
    expect(await page.locator('#plot path').count()).toBeGreaterThanOrEqual(2);
  });

  it('takes a screenshot', async () => {
    const shot = join(tmp, 'screenshot.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeLessThan(200_000);
    if (process.env['UPDATE_SCREENSHOT'] === '1') copyFileSync(shot, join(pageRoot, 'screenshot.png'));
  });
});

describe('source maps of the browser build', () => {
  it('has a map that carries the TypeScript sources', () => {
    const assets = join(outDir, 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    const maps = js.map((f) => join(assets, `${f}.map`));
    const sources = maps.flatMap((m) => {
      expect(existsSync(m), m).toBe(true);
      const map = JSON.parse(readFileSync(m, 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      expect(map.sourcesContent?.length).toBe(map.sources.length);
      return map.sources.map((s) => resolve(dirname(m), s));
    });
    expect(sources).toContain(join(pageRoot, 'main.ts'));
    expect(sources).toContain(join(repo, 'examples/curve-fit/fit.ts'));
  });

  it('maps an error thrown inside a differentiated function to its TypeScript line', async () => {
    const { page, problems } = await open('?throw');
    expect(await page.getAttribute('body', 'data-status')).toBe('thrown');
    const stack = (await page.textContent('#error')) ?? '';
    expect(stack).toContain('thrown inside a differentiated function');
    await page.close();
    expect(problems).toEqual([]);

    // Top frame: `at name (http://127.0.0.1:port/assets/index-xxx.js:line:column)`.
    const frame = /\((https?:\/\/[^)]+\.js):(\d+):(\d+)\)|at (https?:\/\/\S+\.js):(\d+):(\d+)/.exec(stack);
    expect(frame, stack).not.toBeNull();
    const url = frame![1] ?? frame![4]!;
    const line = Number(frame![2] ?? frame![5]);
    const column = Number(frame![3] ?? frame![6]);
    const mapFile = join(outDir, `${new URL(url).pathname}.map`);
    const entry = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMapPayload).findEntry(line - 1, column - 1);
    expect('originalSource' in entry).toBe(true);
    const { originalSource, originalLine } = entry as { originalSource: string; originalLine: number };
    const source = join(pageRoot, 'main.ts');
    expect(resolve(dirname(mapFile), originalSource)).toBe(source);
    const throwLine = readFileSync(source, 'utf8').split('\n').findIndex((l) => l.includes("throw new Error('thrown inside"));
    expect(originalLine).toBe(throwLine); // both 0-based
  });
});
