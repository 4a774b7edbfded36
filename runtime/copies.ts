/**
 * Two copies of dualtape in one program (a library that depends on its own
 * copy, next to the app's): each copy keeps its own registry of compiled
 * functions, so a function compiled against one copy is unknown to the other
 * and the errors would blame a missing plugin. Every copy records itself
 * under a global key (its version and the location of this file), and the
 * errors that a second copy causes name the copies and the fix.
 *
 * Copies are told apart by location: in Node (and `dualtape/register`) each
 * installed copy has its own path. A bundler that puts both copies into one
 * chunk gives them the same location; dedupe there (Vite: `resolve.dedupe`).
 */
export const VERSION = '0.1.0';

interface Copy {
  version: string;
  location: string;
}

const KEY = Symbol.for('dualtape.copies');
const registry = globalThis as { [KEY]?: Copy[] };
const copies = (registry[KEY] ??= []);
/**
 * Where this file is, read off a stack trace (no `import.meta`: the runtime is
 * also compiled to CommonJS, by babel-jest for one). 'unknown' when the
 * engine gives no stack; such copies are not told apart.
 */
function ownLocation(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  const frame = frames.find((line) => /copies\.[cm]?[jt]s/.test(line)) ?? frames[0] ?? '';
  const at = /\(?((?:file:\/\/|https?:\/\/|\/|[A-Za-z]:\\)[^()\s]*?)(?::\d+){1,2}\)?\s*$/.exec(frame.trim());
  return at?.[1] ?? 'unknown';
}

const location = ownLocation();
if (!copies.some((c) => c.location === location)) copies.push({ version: VERSION, location });

/** The copies of dualtape loaded in this program (version and location), this one included. */
export function loadedCopies(): readonly Copy[] {
  return copies;
}

/**
 * A sentence for errors that a second copy explains (not compiled, a value
 * converted to a number): empty when only one copy is loaded.
 */
export function otherCopiesNote(): string {
  if (copies.length < 2) return '';
  const list = copies.map((c) => `${c.version} at ${c.location.replace(/[\\/](?:dist[\\/])?runtime[\\/]copies\.[cm]?[jt]s$/, '')}`).join('; ');
  return (
    ` Note: ${copies.length} copies of dualtape are loaded (${list}). Functions compiled against one copy ` +
    `are unknown to another, which is the likely cause. Install one copy: \`npm ls dualtape\` shows which ` +
    `package brings the second; \`npm dedupe\` (after aligning the versions) removes it. A library that ` +
    `uses dualtape should list it in peerDependencies, not dependencies.`
  );
}
