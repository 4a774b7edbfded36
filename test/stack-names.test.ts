/**
 * Stack traces show the user's function names, not the twins' (`_loss_d`):
 * a throw inside a function compiled as a twin, a class method twin and an
 * object-literal method twin, run under `node --import dualtape/register`
 * (source-mapped). Needs dist/ (`npm run build`; `npm test` does).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../', import.meta.url));
const genDir = join(repo, `test/.gen/stack-names-${process.pid}`);
afterAll(() => rmSync(genDir, { recursive: true, force: true }));

const MAIN = `import { grad } from 'dualtape';

function loss(x: number): number {
  if (x > 10) throw new RangeError('loss: too large');
  return x * x;
}

class Layer {
  forward(x: number): number {
    'use differentiable';
    if (x > 10) throw new RangeError('forward: too large');
    return 2 * x;
  }
}
const model = {
  predict(x: number): number {
    'use differentiable';
    if (x > 10) throw new RangeError('predict: too large');
    return 3 * x;
  },
};
const layer = new Layer();

const cases: [string, () => unknown][] = [
  ['function', () => grad(loss)(20)],
  ['class method', () => grad((x: number) => layer.forward(x))(20)],
  ['object method', () => grad((x: number) => model.predict(x))(20)],
];
for (const [name, run] of cases) {
  try {
    run();
  } catch (error) {
    console.log(\`--- \${name}\\n\${(error as Error).stack}\`);
  }
}
`;

it('a throw inside a twin names the user function in the stack trace', () => {
  mkdirSync(genDir, { recursive: true });
  writeFileSync(join(genDir, 'main.ts'), MAIN);
  const r = spawnSync(process.execPath, ['--import', 'dualtape/register', join(genDir, 'main.ts')], {
    cwd: repo, encoding: 'utf8', timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const frame = (name: string) => {
    const block = r.stdout.split('--- ').find((b) => b.startsWith(`${name}\n`));
    expect(block, r.stdout).toBeDefined();
    return block!.split('\n').find((l) => /^\s+at /.test(l))!;
  };
  expect(frame('function')).toMatch(/^\s+at loss \(.*main\.ts:4:/);
  expect(frame('class method')).toMatch(/^\s+at Layer\.forward \(.*main\.ts:11:|^\s+at \S*forward \(.*main\.ts:11:/);
  expect(frame('object method')).toMatch(/^\s+at \S*predict \(.*main\.ts:18:/);
  expect(r.stdout).not.toMatch(/_loss_d|dt_forward|dt_predict/);
});
