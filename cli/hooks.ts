/**
 * A loader hook chained in front of `dualtape/register` by the CLI: the
 * module named on the command line is compiled as if it began with the
 * directive 'use differentiable', so that its exported functions can be
 * differentiated without the user editing the file. (Modules it imports are
 * compiled as `dualtape/register` always does: put the directive in helpers
 * that live in other files.)
 */
interface LoadContext { conditions: string[]; format?: string | null; importAttributes?: Record<string, string> }
interface LoadResult { format?: string | null; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult>;

let targets = new Set<string>();

export function initialize(data: { targets?: string[] } | undefined): void {
  targets = new Set(data?.targets ?? []);
}

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  const loaded = await nextLoad(url, context);
  if (!targets.has(url) || loaded.source == null) return loaded;
  const source = typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString('utf8');
  // On the first line, so that line numbers (stack traces, graph regions) stay those of the file.
  const shebang = /^#![^\n]*/.exec(source)?.[0] ?? '';
  return { ...loaded, source: `${shebang}'use differentiable'; ${source.slice(shebang.length)}` };
}
