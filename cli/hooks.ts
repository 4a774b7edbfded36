/**
 * A loader hook chained in front of `dualtape/register` by the CLI: the
 * module named on the command line is compiled as if it began with the
 * directive 'use differentiable', so that its exported functions can be
 * differentiated without the user editing the file. (Modules it imports are
 * compiled as `dualtape/register` always does: put the directive in helpers
 * that live in other files.)
 *
 * It also resolves `dualtape` and `dualtape/*` to the package the CLI runs
 * from, so the user's code and the CLI share one runtime (a second copy, in
 * the user's node_modules or none at all, would not know the functions this
 * one compiled).
 */
interface LoadContext { conditions: string[]; format?: string | null; importAttributes?: Record<string, string> }
interface LoadResult { format?: string | null; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult>;
interface ResolveContext { conditions: string[]; importAttributes?: Record<string, string>; parentURL?: string }
interface ResolveResult { url: string; format?: string | null; shortCircuit?: boolean }
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult>;

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  if (specifier === 'dualtape' || specifier.startsWith('dualtape/')) {
    // Resolved from inside this package: its own "exports" map (package self-reference).
    return nextResolve(specifier, { ...context, parentURL: import.meta.url });
  }
  return nextResolve(specifier, context);
}

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
