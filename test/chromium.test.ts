/**
 * The browser tests must pass on a bare machine with the README's two
 * commands alone. On a machine that has a system Chromium (or CHROMIUM set),
 * test/helpers/chromium.ts would use that one and hide a broken npm route:
 * this test always launches the Chromium shipped inside the npm package
 * @sparticuz/chromium and renders a page with it.
 */
import { describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/chromium.ts';

describe('Chromium from the npm registry alone', () => {
  it('@sparticuz/chromium unpacks, launches through playwright-core and renders a page', async () => {
    const browser = await launchChromium({ source: 'npm' });
    try {
      const page = await browser.newPage();
      await page.setContent('<p id="x">2 + 3 = <span></span></p><script>document.querySelector("span").textContent = String(2 + 3)</script>');
      expect(await page.textContent('#x')).toBe('2 + 3 = 5');
    } finally {
      await browser.close();
    }
  }, 120_000);
});
