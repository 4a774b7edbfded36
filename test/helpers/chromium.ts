/**
 * A Chromium for browser tests, with no set-up beyond `npm install`.
 *
 * Order: the `CHROMIUM` environment variable, then Debian's /usr/bin/chromium
 * when it is installed, then the Chromium that ships inside the npm package
 * `@sparticuz/chromium` (a devDependency: its `executablePath()` unpacks the
 * binary shipped in the tarball to the temp folder, so no download happens).
 * Launched through playwright-core, which never downloads a browser itself.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Flags for a headless Chromium on a machine with no outside network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The path of a Chromium binary, and where it came from. */
export async function chromiumExecutable(opts: { source?: 'npm' } = {}): Promise<{ path: string; source: string }> {
  if (opts.source === 'npm') return registryChromium();
  const fromEnv = process.env['CHROMIUM'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM is set to ${fromEnv}, which does not exist`);
    return { path: fromEnv, source: 'CHROMIUM' };
  }
  if (existsSync('/usr/bin/chromium')) return { path: '/usr/bin/chromium', source: 'system' };
  return registryChromium();
}

/** The Chromium shipped inside the npm package @sparticuz/chromium (what a bare machine uses). */
async function registryChromium(): Promise<{ path: string; source: string }> {
  const sparticuz = (await import('@sparticuz/chromium')).default;
  return { path: await sparticuz.executablePath(), source: '@sparticuz/chromium' };
}

/** Launches headless Chromium (see chromiumExecutable for which one; `source: 'npm'` forces the registry's). */
export async function launchChromium(opts: { source?: 'npm' } = {}): Promise<Browser> {
  const { path, source } = await chromiumExecutable(opts);
  // The registry build runs as a single process (it is built for small sandboxes).
  const args = source === '@sparticuz/chromium' ? [...CHROMIUM_ARGS, '--single-process', '--no-zygote'] : CHROMIUM_ARGS;
  return chromium.launch({ executablePath: path, args });
}
