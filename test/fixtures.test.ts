/**
 * Output fixtures for the Babel plugin, in the style of Babel's own plugin
 * fixtures:
 *
 *   fixtures/<suite>/<case>/input.ts      the source
 *   fixtures/<suite>/<case>/output.js     the expected output (trimmed)
 *   fixtures/<suite>/<case>/options.json  optional:
 *     { "pluginOptions": { "runtime": "..." },     options for the plugin
 *       "throws": "substring of the message",       the build must fail...
 *       "line": 3,                                  ...with a code frame whose `>` marker is on this line
 *       ...anything else: Babel options (e.g. "sourceType": "script") }
 *   fixtures/<suite>/<case>/exec.ts       optional: compiled with the plugin and run, with `expect` in scope
 *
 * Every output is also run through the plugin again and must come out
 * unchanged (idempotence).
 *
 * `OVERWRITE=true npx vitest run test/fixtures.test.ts` (re)writes output.js
 * files; read every one of them before committing it.
 */
import { describe, it, expect } from 'vitest';
import { transformSync } from '@babel/core';
import type { TransformOptions } from '@babel/core';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import plugin from '../plugin/index.ts';
import * as runtimeIndex from '../runtime/index.ts';
import * as runtimeOps from '../runtime/ops.ts';
import { hasTangentCode, setTangentTier } from '../runtime/tangent.ts';
import { compareTangent } from './helpers/tangent-fixture.ts';
import { checkAdjoint } from './helpers/adjoint-fixture.ts';

const require = createRequire(import.meta.url);
const presetTypescript = require.resolve('@babel/preset-typescript');
const modulesCommonjs = require.resolve('@babel/plugin-transform-modules-commonjs');

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const OVERWRITE = process.env.OVERWRITE === 'true';

interface FixtureOptions {
  pluginOptions?: { runtime?: string; fastPath?: boolean; tangent?: boolean; adjoint?: boolean };
  throws?: string;
  line?: number;
  [babelOption: string]: unknown;
}

interface Fixture {
  name: string;
  dir: string;
  input: string;
  options: FixtureOptions;
}

function loadFixtures(): Map<string, Fixture[]> {
  const suites = new Map<string, Fixture[]>();
  for (const suite of readdirSync(FIXTURES).sort()) {
    const suiteDir = join(FIXTURES, suite);
    if (!statSync(suiteDir).isDirectory()) continue;
    const cases: Fixture[] = [];
    // A suite-level options.json applies to every case of the suite (case options win).
    const suiteOptionsFile = join(suiteDir, 'options.json');
    const suiteOptions = existsSync(suiteOptionsFile) ? (JSON.parse(readFileSync(suiteOptionsFile, 'utf8')) as FixtureOptions) : {};
    for (const name of readdirSync(suiteDir).sort()) {
      const dir = join(suiteDir, name);
      if (!statSync(dir).isDirectory()) continue;
      const input = join(dir, 'input.ts');
      if (!existsSync(input)) throw new Error(`fixture ${suite}/${name} has no input.ts`);
      const optionsFile = join(dir, 'options.json');
      const own = existsSync(optionsFile) ? (JSON.parse(readFileSync(optionsFile, 'utf8')) as FixtureOptions) : {};
      const options: FixtureOptions = {
        ...suiteOptions,
        ...own,
        pluginOptions: { ...suiteOptions.pluginOptions, ...own.pluginOptions },
      };
      cases.push({ name, dir, input, options });
    }
    suites.set(suite, cases);
  }
  return suites;
}

function babelOptions(options: FixtureOptions, filename: string, extraPlugins: unknown[] = []): TransformOptions {
  const { pluginOptions, throws: _throws, line: _line, ...rest } = options;
  return {
    filename,
    babelrc: false,
    configFile: false,
    highlightCode: false,
    sourceType: 'module',
    presets: [[presetTypescript, { allowDeclareFields: true, onlyRemoveTypeImports: false }]],
    // The adjoint tier only where a suite turns it on (fixtures/adjoint), so other suites' outputs stay as they are.
    plugins: [[plugin, { adjoint: false, ...pluginOptions }], ...extraPlugins] as TransformOptions['plugins'],
    ...(rest as TransformOptions),
  };
}

function compile(code: string, options: FixtureOptions, filename: string): string {
  const result = transformSync(code, babelOptions(options, filename));
  if (result?.code == null) throw new Error(`no output for ${filename}`);
  return result.code;
}

/**
 * Runs `exec.ts` compiled with the plugin, `dualtape` resolving to the runtime
 * under test, with the statement-level fast path on and off.
 */
function execute(fixture: Fixture, file: string): void {
  for (const fastPath of [true, false]) {
    executeWith({ ...fixture, options: { ...fixture.options, pluginOptions: { ...fixture.options.pluginOptions, fastPath } } }, file);
  }
}

function executeWith(fixture: Fixture, file: string): void {
  const runtime = fixture.options.pluginOptions?.runtime ?? 'dualtape';
  const result = transformSync(readFileSync(file, 'utf8'), babelOptions(fixture.options, file, [modulesCommonjs]));
  if (result?.code == null) throw new Error(`no output for ${file}`);
  // `dualtape/tangent-tier` and `dualtape/adjoint-tier`: the checks the exec.ts files of the tangent and adjoint
  // suites share (test/helpers/tangent-fixture.ts, test/helpers/adjoint-fixture.ts).
  const modules: Record<string, unknown> = {
    [runtime]: runtimeIndex, [`${runtime}/ops`]: runtimeOps, [`${runtime}/tangent-tier`]: { hasTangentCode, setTangentTier, compareTangent },
    [`${runtime}/adjoint-tier`]: { checkAdjoint },
  };
  const fakeRequire = (id: string) => {
    if (!(id in modules)) throw new Error(`exec.ts of ${fixture.name} imports ${id}, which the runner does not provide`);
    return modules[id];
  };
  const module = { exports: {} };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('require', 'module', 'exports', 'expect', result.code)(fakeRequire, module, module.exports, expect);
}

/** The message of the error thrown by `fn`, or a failure if it does not throw. */
function thrownMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error('expected the transform to throw, but it succeeded');
}

for (const [suite, cases] of loadFixtures()) {
  describe(suite, () => {
    for (const fixture of cases) {
      const { name, dir, input, options } = fixture;
      const source = readFileSync(input, 'utf8');

      if (options.throws !== undefined) {
        it(`${name} (throws)`, () => {
          expect(options.line, `${suite}/${name}: an error fixture must give the expected "line"`).toBeTypeOf('number');
          expect(existsSync(join(dir, 'output.js')), `${suite}/${name}: an error fixture has no output.js`).toBe(false);
          const message = thrownMessage(() => compile(source, options, input));
          expect(message).toContain(options.throws);
          // The code frame's marker line: `> 12 | ...` (numbers are right-aligned, so maybe `>  9 | ...`).
          const marker = message.split('\n').filter((l) => l.startsWith('>'));
          expect(marker, `code frame of:\n${message}`).toHaveLength(1);
          expect(marker[0]).toMatch(new RegExp(`^>\\s+${options.line} \\|`));
          // The frame shows the offending source line itself.
          const offending = source.split('\n')[options.line! - 1]!;
          expect(marker[0]!.replace(/^>\s+\d+ \| ?/, '')).toBe(offending.trimEnd());
          // The filename is in the message, so the user knows which file.
          expect(message).toContain(input);
        });
        continue;
      }

      const outputFile = join(dir, 'output.js');
      it(name, () => {
        const actual = compile(source, options, input).trim();
        if (OVERWRITE || !existsSync(outputFile)) {
          if (!OVERWRITE) throw new Error(`${suite}/${name}: no output.js; run with OVERWRITE=true to create it, then review it`);
          writeFileSync(outputFile, actual + '\n');
        }
        expect(actual).toBe(readFileSync(outputFile, 'utf8').trim());
      });

      it(`${name} (idempotent)`, () => {
        const expected = readFileSync(outputFile, 'utf8').trim();
        const again = compile(expected, options, join(dir, 'output.js')).trim();
        expect(again).toBe(expected);
      });

      const execFile = join(dir, 'exec.ts');
      if (existsSync(execFile)) {
        it(`${name} (exec)`, () => execute(fixture, execFile));
      }
    }
  });
}
