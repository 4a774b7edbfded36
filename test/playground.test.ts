/**
 * The playground in real Chromium: built with Vite (its own config, the
 * dualtape Vite plugin) into a temporary folder, served by `vite preview`,
 * driven through playwright-core. A function is typed into the editor; the
 * gradient read off the page must equal the gradient Node computes for the
 * same function; the graph must render with one SVG node per graph node and
 * step through the forward then the backward pass; a syntax error must show
 * Babel's code frame; the cost plot must draw. Screenshots go to a temporary
 * folder; with UPDATE_SCREENSHOT=1 to docs/images/ (shown in the docs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import type { PreviewServer } from 'vite';
import type { Browser, Page } from 'playwright-core';
import { grad, graph } from 'dualtape';
import { launchChromium } from './helpers/chromium.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const configFile = join(root, 'playground/vite.config.ts');
const images = process.env['UPDATE_SCREENSHOT'] === '1' ? join(root, 'docs/images') : mkdtempSync(join(tmpdir(), 'dualtape-playground-shots-'));
let outDir: string;
let server: PreviewServer;
let browser: Browser;
let page: Page;
let url: string;

// The function typed into the page, and the same function compiled here for Node.
const typed = `export function f(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    s += Math.exp(-x[i] * x[i]) * Math.cos(3 * x[i] + s);
  }
  return s * s;
}`;
function f(x: number[]): number {
  'use differentiable';
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    s += Math.exp(-x[i]! * x[i]!) * Math.cos(3 * x[i]! + s);
  }
  return s * s;
}
const point = [0.5, -1, 2];

async function settled(previous: number): Promise<void> {
  await page.waitForFunction((n) => Number(document.body.dataset['updates'] ?? 0) > n && document.body.dataset['state'] === 'ready', previous, { timeout: 30_000 });
}
const updates = async (): Promise<number> => Number(await page.evaluate(() => document.body.dataset['updates'] ?? 0));

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'dualtape-playground-'));
  await build({ configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  server = await preview({ configFile, logLevel: 'error', build: { outDir }, preview: { port: 0, host: '127.0.0.1' } });
  url = server.resolvedUrls!.local[0]!;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset['state'] === 'ready', undefined, { timeout: 60_000 });
  expect(errors).toEqual([]);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('playground in Chromium', () => {
  it('shows the first example: value and gradients of sin(x*y) + x', async () => {
    const value = Number(await page.textContent('#value'));
    expect(value).toBeCloseTo(Math.sin(1.5 * -0.7) + 1.5, 7);
    const gr = JSON.parse((await page.textContent('#grad-reverse'))!) as number[];
    expect(gr[0]).toBeCloseTo(Math.cos(-1.05) * -0.7 + 1, 7);
    expect(gr[1]).toBeCloseTo(Math.cos(-1.05) * 1.5, 7);
    expect(await page.getAttribute('#check', 'class')).toBe('ok');
    // The picture for the docs: two steps into the backward pass.
    await page.$eval('#step', (el) => {
      (el as HTMLInputElement).value = '7';
      el.dispatchEvent(new Event('input'));
    });
    expect(await page.textContent('#caption')).toMatch(/^backward, node 3 \(sin\): adjoint = 1 × 1 = 1$/);
    mkdirSync(images, { recursive: true });
    await page.screenshot({ path: join(images, 'playground.png') });
  });

  it('every example compiles, its modes agree with finite differences, and its graph renders', async () => {
    const names = await page.locator('#example option').allTextContents();
    expect(names).toEqual(['Math.sin(x*y) + x', 'Rosenbrock', 'MLP (2-3-1, tanh)', 'RNN step', 'A branch']);
    for (let k = names.length - 1; k >= 0; k--) {
      const before = await updates();
      await page.selectOption('#example', String(k));
      await settled(before);
      expect(await page.getAttribute('#check', 'class'), names[k]).toBe('ok');
      expect(await page.locator('#graph svg g.node').count(), names[k]).toBeGreaterThan(2);
      expect(await page.isVisible('#error')).toBe(false);
    }
  });

  it('a typed function: the gradient on the page equals Node’s, the graph renders and steps', async () => {
    const before = await updates();
    await page.click('#editor .cm-content');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(typed);
    await page.fill('#point', JSON.stringify([point]));
    await settled(before);
    const onPage = {
      reverse: JSON.parse((await page.textContent('#grad-reverse'))!) as number[],
      forward: JSON.parse((await page.textContent('#grad-forward'))!) as number[],
      fd: JSON.parse((await page.textContent('#grad-fd'))!) as number[],
    };
    const inNode = grad(f)(point);
    // The page shows 8 significant digits.
    for (const g of [onPage.reverse, onPage.forward]) g.forEach((v, i) => expect(Math.abs(v - inNode[i]!)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(inNode[i]!))));
    onPage.fd.forEach((v, i) => expect(Math.abs(v - inNode[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(inNode[i]!))));
    expect(Number(await page.textContent('#value'))).toBeCloseTo(f(point), 7);

    // The graph: as many drawn nodes and edges as Node's graph of the same function has.
    const g = graph(f)(point);
    expect(await page.locator('#graph svg g.node').count()).toBe(g.nodes.length);
    expect(await page.locator('#graph svg g.edge').count()).toBe(g.edges.length);
    const inputs = await page.locator('#graph svg g.node text').allTextContents();
    expect(inputs).toContain('x[2]');

    // Step to the end of the forward pass, then through the backward pass.
    const N = g.nodes.length;
    expect(Number(await page.getAttribute('#step', 'max'))).toBe(2 * N);
    const stepTo = (s: number) => page.$eval('#step', (el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event('input'));
    }, s);
    await stepTo(N);
    expect(await page.locator('#graph g.node.fwd').count()).toBe(N);
    expect(await page.textContent('#caption')).toMatch(/^forward, node \d+: mul\(/);
    await stepTo(N + 1);
    expect(await page.textContent('#caption')).toMatch(/backward, node \d+ \(output\): adjoint = 1/);
    await stepTo(N + 3);
    expect(await page.locator('#graph g.node.bwd').count()).toBe(3);
    await stepTo(2 * N);
    expect(await page.locator('#graph g.node.bwd').count()).toBe(N);
    // The caption of the last step is the first input's adjoint: the gradient's first component.
    expect(await page.textContent('#caption')).toMatch(/^backward, node 0 \(x\[0\]\): adjoint = /);
  });

  it('a syntax error shows Babel’s code frame under the editor', async () => {
    await page.click('#editor .cm-content');
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('\nexport const g = (x: number) => x +;\n');
    await page.waitForFunction(() => document.body.dataset['state'] === 'error', undefined, { timeout: 30_000 });
    const text = (await page.textContent('#error'))!;
    expect(await page.isVisible('#error')).toBe(true);
    expect(text).toMatch(/Unexpected token/);
    expect(text).toMatch(/^Unexpected token \(8:35\)/);
    expect(text).toMatch(/> *8 \| export const g = \(x: number\) => x \+;/);
    expect(text).toMatch(/\^/);
    const before = await updates();
    await page.keyboard.press('Control+Z');
    await settled(before);
    expect(await page.isVisible('#error')).toBe(false);
  });

  it('measures the cost of both modes as n grows and plots it', async () => {
    await page.click('#measure');
    await page.waitForSelector('#cost-plot svg', { timeout: 120_000 });
    expect(await page.locator('#cost-plot svg g.series').count()).toBe(3);
    expect(await page.textContent('#cost-status')).toMatch(/forward .*×f; reverse .*×f/);
    mkdirSync(images, { recursive: true });
    await page.locator('.left').screenshot({ path: join(images, 'playground-cost.png') });
  }, 180_000);
});
