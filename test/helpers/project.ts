/**
 * Fresh projects for toolchain tests: a temporary folder laid out as a user's
 * project after `npm install`, with `node_modules/dualtape` (this package:
 * package.json and dist/, as `npm pack` ships them) and the tools (vite,
 * webpack, ts-loader, …) linked from this repository's node_modules.
 *
 * Nothing is installed from the network: the tools are the ones the tests
 * already depend on. dist/ must be built (`npm run build`; `npm test` does).
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A folder whose node_modules holds a copy of dualtape (package.json + dist/)
 * and links to every other package of this repository. Projects made with
 * `project()` below live inside it and resolve their packages there.
 */
export function workspace(prefix: string): { root: string; cleanup: () => void } {
  if (!existsSync(join(repo, 'dist/runtime/index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const root = mkdtempSync(join(tmpdir(), `dualtape-${prefix}-`));
  installDualtape(join(root, 'node_modules/dualtape'));
  for (const name of readdirSync(join(repo, 'node_modules'))) {
    if (name.startsWith('.') || name === 'dualtape') continue;
    symlinkSync(join(repo, 'node_modules', name), join(root, 'node_modules', name));
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A copy of this package (what the tarball holds), at `target`; `version` overrides package.json's. */
export function installDualtape(target: string, version?: string): void {
  mkdirSync(target, { recursive: true });
  cpSync(join(repo, 'dist'), join(target, 'dist'), { recursive: true });
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Record<string, unknown>;
  if (version) pkg['version'] = version;
  writeFileSync(join(target, 'package.json'), JSON.stringify(pkg, null, 2));
}

/** Writes `files` (path -> content) into a new folder under `root`; returns its path. */
export function project(root: string, name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Runs node (or a tool from node_modules/.bin when `bin` is given) in `cwd`. */
export function run(cwd: string, args: string[], options: { bin?: string; timeout?: number } = {}): SpawnSyncReturns<string> {
  const command = options.bin ? join(repo, 'node_modules/.bin', options.bin) : process.execPath;
  return spawnSync(command, args, { cwd, encoding: 'utf8', timeout: options.timeout ?? 90_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
}

export const output = (r: SpawnSyncReturns<string>) => `${r.stdout}\n${r.stderr}`;

/** Starts a long-running node process (a dev server); resolves when `ready` matches its output. */
export function start(cwd: string, args: string[], ready: RegExp): Promise<{ text: () => string; stop: () => void }> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 60 s:\n${text}`)), 60_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (ready.test(text)) {
        clearTimeout(timer);
        resolve({ text: () => text, stop: () => child.kill() });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready:\n${text}`));
    });
  });
}
