/**
 * What the array-library adapters report back: their methods, and whether
 * (and how) each library loaded on this machine.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Method } from '../harness.ts';

export interface LibraryInfo {
  id: string;
  name: string;
  version?: string;
  status: 'ok' | 'failed';
  /** Why it failed to load or run. */
  error?: string;
  /** Backend, precision and other facts that matter for reading its numbers. */
  notes: string[];
}

export interface LibraryLoad {
  info: LibraryInfo[];
  methods: Method[];
}

/** The installed version of a package, read from its package.json next to its entry point. */
export function installedVersion(pkg: string): string | undefined {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(pkg)));
    for (let i = 0; i < 6; i++) {
      try {
        const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (json.name === pkg) return json.version;
      } catch {
        // no package.json at this level
      }
      dir = dirname(dir);
    }
  } catch {
    // not installed
  }
  return undefined;
}

export const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
