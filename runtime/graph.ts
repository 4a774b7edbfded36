/**
 * `graph(f, opts?)(...args)`: the computation graph of one evaluation of `f`,
 * with every node's value and, after a backward sweep, every node's adjoint
 * (∂output/∂node).
 *
 * Operation level (default): one node per differentiable operation, the
 * graph a textbook draws. The recording runs on a tape whose trace is not
 * "alive" for compiled code's statement-level fast path (see `ops.join`), so
 * every expression takes its generic path, one runtime call and one node per
 * operation; `recordsOps` keeps the values usable meanwhile. Statement level
 * (`level: 'statement'`): the ordinary fast path, one node per preaccumulated
 * expression, exactly what a reverse-mode gradient records.
 *
 * Nothing here runs unless a graph is being recorded: the only hook in the
 * engine is `ReverseTrace.node`, which the tape subclass below overrides.
 */
import { Active, DualtapeError, ReverseTrace, TapeVar, value as plainValue } from './active.js';
import type { Num } from './core-types.js';
import { reverseSweep } from './engine.js';
import { checkArg, compiledOrThrow, describe, mapLeaves } from './args.js';

export type GraphLevel = 'operation' | 'statement';

export interface GraphOptions {
  /** 'operation' (default): one node per operation. 'statement': one node per preaccumulated expression (what the reverse tape records). */
  readonly level?: GraphLevel;
  /** Largest number of nodes recorded before giving up with an error (default 5000). */
  readonly maxNodes?: number;
  /** Names of the arguments for the input nodes (default: the parameter names of `f`, else `args[k]`). */
  readonly names?: readonly string[];
}

export interface GraphNode {
  /** Index in `nodes`; nodes are in evaluation (topological) order. */
  readonly id: number;
  readonly kind: 'input' | 'op';
  /**
   * The input's argument path (`x[3]`, `p.w[0]`), or the operation's name from the rule table: 'expr' for an
   * expression preaccumulated into one node (statement level), 'custom' for the result of a customDerivative
   * (whose value is not recorded: NaN). Checkpointed regions are recorded in full.
   */
  readonly op: string;
  readonly value: number;
  /** ∂output/∂node: 0 for nodes the output does not depend on. */
  readonly adjoint: number;
  /** Whether this node is the function's result. */
  readonly output: boolean;
  /** Where the operation ran: the user's call stack, innermost first, as `function@line:column` (empty when not known). */
  readonly stack: readonly string[];
  /** The repeated region (loop body or helper call site) this node belongs to, if any: index in `groups`. */
  readonly group?: number;
}

export interface GraphEdge {
  /** Operand node. */
  readonly from: number;
  /** Node computed from it. */
  readonly to: number;
  /** Local partial derivative ∂to/∂from at this point. */
  readonly partial: number;
}

/** A source region whose operations ran several times (loop iterations, calls of a helper from one place). */
export interface GraphGroup {
  readonly id: number;
  /** For example `helper() at 4:12` or `line 7`. */
  readonly label: string;
  /** How many times the region ran. */
  readonly count: number;
  readonly nodes: readonly number[];
}

export interface Graph {
  readonly level: GraphLevel;
  readonly nodes: readonly GraphNode[];
  /** In topological order (grouped by `to`, in node order). */
  readonly edges: readonly GraphEdge[];
  readonly inputs: readonly number[];
  /** The output's node, or undefined when the result does not depend on the inputs. */
  readonly output: number | undefined;
  /** The function's value. */
  readonly value: number;
  readonly groups: readonly GraphGroup[];
}

type Fn<A extends unknown[]> = (...args: A) => number;

/** The computation graph of one evaluation of `f` at the arguments given to the returned function. */
export function graph<A extends unknown[]>(f: Fn<A>, opts: GraphOptions = {}): (...args: A) => Graph {
  const fc = compiledOrThrow(f, 'graph');
  if (opts === null || typeof opts !== 'object') throw new TypeError(`dualtape: graph options must be an object, got ${describe(opts)}.`);
  const level = opts.level ?? 'operation';
  if (level !== 'operation' && level !== 'statement') {
    throw new TypeError(`dualtape: graph option level must be 'operation' or 'statement', got ${describe(level)}.`);
  }
  const maxNodes = opts.maxNodes ?? 5000;
  if (!Number.isInteger(maxNodes) || maxNodes < 1) {
    throw new TypeError(`dualtape: graph option maxNodes must be a positive integer, got ${describe(maxNodes)}.`);
  }
  const names = opts.names ?? parameterNames(f);
  return function recordGraph(this: unknown, ...args: A): Graph {
    args.forEach((a, k) => {
      checkArg(a, names[k] ?? `args[${k}]`, new Set(), false);
      mapLeaves(a, (v) => {
        if (v instanceof Active) {
          throw new TypeError('dualtape: graph records a function at plain numbers; it cannot be called inside another derivative.');
        }
        return v;
      });
    });
    return record(fc, this, args, level, maxNodes, names);
  };
}

/** The tape of a graph recording: also keeps each node's value, operation and call stack. */
class GraphTape extends ReverseTrace {
  readonly values: number[] = [];
  readonly ops: string[] = [];
  readonly stacks: string[][] = [];

  constructor(
    readonly maxNodes: number,
    operationLevel: boolean,
  ) {
    super();
    this.inlineCheckpoints = true;
    if (operationLevel) {
      this.recordsOps = true;
      this.alive = false;
    }
  }

  override end(): void {
    this.recordsOps = false;
    this.alive = true;
    super.end();
  }

  override close(): number {
    if (this.size >= this.maxNodes) {
      throw new DualtapeError(
        `dualtape: graph stopped at ${this.maxNodes} nodes (the maxNodes option). A picture that large is unreadable: ` +
          `record a smaller input, use { level: 'statement' } (one node per expression), or raise maxNodes.`,
      );
    }
    const k = super.close();
    // Nodes made without `node()` (custom derivatives, checkpoints) have no value here.
    this.values[k] = NaN;
    this.ops[k] = 'custom';
    this.stacks[k] = [];
    return k;
  }

  override node(z: Num, op: string): TapeVar {
    const v = new TapeVar(z, this.close(), this);
    this.values[v.i] = plainValue(z); // under an outer derivative: the number underneath
    this.ops[v.i] = op;
    this.stacks[v.i] = userStack();
    return v;
  }

  input(v: number, name: string): TapeVar {
    const t = new TapeVar(v, this.close(), this);
    this.values[t.i] = v;
    this.ops[t.i] = name;
    return t;
  }
}

/** The frame that starts the user's code: everything below it is ours. */
const ROOT_MARK = 'dualtapeGraphRoot';

function record(fc: Function, self: unknown, args: unknown[], level: GraphLevel, maxNodes: number, names: readonly string[]): Graph {
  const tape = new GraphTape(maxNodes, level === 'operation');
  const savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  try {
    const inputs: number[] = [];
    const callArgs = args.map((a, k) =>
      mapPaths(a, names[k] ?? `args[${k}]`, (v, path) => {
        const t = tape.input(v, path);
        inputs.push(t.i);
        return t;
      }),
    );
    const holder = {
      [ROOT_MARK]: () => fc.apply(self, callArgs) as unknown,
    };
    const out = holder[ROOT_MARK]();
    const mine = out instanceof TapeVar && out.tr === tape;
    if (!mine && typeof out !== 'number' && !(out instanceof Active && out.tr.alive)) {
      throw new TypeError(`dualtape: the function handed to graph returned ${describe(out)}; graph needs a function that returns a single number.`);
    }
    const adjoint = mine ? reverseSweep(tape, [[out.i, 1]]) : [];
    const siteGroups = groupsOf(tape.stacks, tape.ops, tape.size, mine ? out.i : -1);
    const nodes: GraphNode[] = [];
    const edges: GraphEdge[] = [];
    for (let k = 0; k < tape.size; k++) {
      const isInput = k < inputs.length;
      const a = k < adjoint.length ? adjoint[k]! : 0;
      const node: GraphNode = {
        id: k,
        kind: isInput ? 'input' : 'op',
        op: tape.ops[k]!,
        value: tape.values[k]!,
        adjoint: plainValue(a),
        output: mine && out.i === k,
        stack: tape.stacks[k] ?? [],
        ...(siteGroups.of[k] === undefined ? {} : { group: siteGroups.of[k] }),
      };
      nodes.push(node);
      for (let e = k === 0 ? 0 : tape.ends[k - 1]!; e < tape.ends[k]!; e++) {
        const p = tape.nestedPartials?.get(e) ?? tape.partials[e]!;
        edges.push({ from: tape.parents[e]!, to: k, partial: plainValue(p) });
      }
    }
    return {
      level,
      nodes,
      edges,
      inputs,
      output: mine ? out.i : undefined,
      value: plainValue(out),
      groups: siteGroups.groups,
    };
  } finally {
    Error.stackTraceLimit = savedLimit;
    tape.end();
  }
}

/** Like `mapLeaves` (same structure, same order), with the path of each leaf: `x[3]`, `p.w[0]`. */
function mapPaths(x: unknown, path: string, leaf: (v: number, path: string) => unknown): unknown {
  const paths: string[] = [];
  leafPaths(x, path, paths);
  let n = 0;
  return mapLeaves(x, (v) => leaf(v as number, paths[n++]!));
}

function leafPaths(x: unknown, path: string, out: string[]): void {
  if (typeof x === 'number' || x instanceof Active) {
    out.push(path);
  } else if (x instanceof Float64Array || x instanceof Float32Array || Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) leafPaths(x[i], `${path}[${i}]`, out);
  } else {
    for (const key of Object.keys(x as object)) {
      leafPaths((x as Record<string, unknown>)[key], /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, out);
    }
  }
}

/**
 * Parameter names read from the function's source (`(x, p) => ...`, `function f(x, p)`, `x => ...`);
 * `args[k]` for a parameter that is not a plain name (destructured, with a default, rest).
 */
function parameterNames(f: Function): string[] {
  const src = Function.prototype.toString.call(f);
  const single = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (single) return [single[1]!];
  const open = /^(?:async\s*)?(?:function\b[^(]*)?\(/.exec(src);
  if (!open) return [];
  const params: string[] = [];
  let depth = 0;
  let start = open[0].length;
  for (let i = start; i < src.length; i++) {
    const c = src[i]!;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth--;
    else if ((c === ',' || c === ')') && depth === 0) {
      params.push(src.slice(start, i).trim());
      start = i + 1;
      if (c === ')') break;
    }
  }
  return params.map((p, k) => (/^[A-Za-z_$][\w$]*$/.test(p) ? p : `args[${k}]`));
}

// ---------------------------------------------------------------------------
// Call stacks and repeated regions
// ---------------------------------------------------------------------------

/**
 * The user's frames of the current call stack, innermost first, as
 * `function@line:column`: the frames between dualtape's runtime (above) and
 * the graph recorder (below).
 */
function userStack(): string[] {
  const lines = (new Error().stack ?? '').split('\n');
  const frames: { fn: string; file: string; pos: string }[] = [];
  for (const line of lines) {
    const f = parseFrame(line);
    if (f) frames.push(f);
  }
  const root = frames.findIndex((f) => f.fn.includes(ROOT_MARK));
  if (root < 0) return [];
  // frames[0] is this function, in dualtape's own file (in a bundle, the runtime shares that file).
  const own = frames[0]?.file;
  // The runtime's frames (the innermost ones, and wrappers between the user's outermost frame and
  // the recorder, such as the entry point's stack guard) are not the user's.
  return frames
    .slice(0, root)
    .filter((f) => f.file !== own && !RUNTIME_FILE.test(f.file))
    .map((f) => `${displayName(f.fn)}@${f.pos}`);
}

const RUNTIME_FILE = /dualtape[\\/](?:dist[\\/])?runtime[\\/]|[\\/]runtime[\\/](?:active|engine|ops|api|graph|args|custom|checkpoint|transforms|natives|typed|registry|tangent|copies)\.[jt]s/;

/** V8 (`    at fn (file:1:2)`) and Firefox/Safari (`fn@file:1:2`) stack lines. */
function parseFrame(line: string): { fn: string; file: string; pos: string } | undefined {
  let m = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/.exec(line);
  if (m) return { fn: m[1] ?? '', file: m[2]!, pos: `${m[3]}:${m[4]}` };
  m = /^(.*?)@(.*?):(\d+):(\d+)$/.exec(line);
  if (m) return { fn: m[1]!, file: m[2]!, pos: `${m[3]}:${m[4]}` };
  return undefined;
}

/** A compiled helper's twin `_helper_d` is the user's `helper`. */
function displayName(fn: string): string {
  const last = fn.split(/[ .]/).filter(Boolean).pop() ?? '';
  const m = /^_(.+)_d\d*$/.exec(last);
  return m ? m[1]! : last || '(anonymous)';
}

/**
 * Regions that ran several times: the nodes are grouped by the line of the
 * outermost user frame (the statement of `f` they came from, a loop body or
 * a helper call); a group in which one operation ran at one place several
 * times (a loop iteration, a helper call) ran `count` times, the largest such
 * repetition.
 */
function groupsOf(stacks: readonly (readonly string[] | undefined)[], ops: readonly string[], size: number, output: number): { groups: GraphGroup[]; of: (number | undefined)[] } {
  const byKey = new Map<string, number[]>();
  for (let k = 0; k < size; k++) {
    const s = stacks[k];
    if (!s || s.length === 0 || k === output) continue; // the output stays visible
    const outer = s[s.length - 1]!;
    const line = outer.slice(outer.lastIndexOf('@') + 1).split(':')[0];
    const key = s.length > 1 ? `${s[s.length - 2]!.split('@')[0]}() at line ${line}` : `line ${line}`;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(k);
  }
  const groups: GraphGroup[] = [];
  const of: (number | undefined)[] = [];
  for (const [label, list] of byKey) {
    const counts = new Map<string, number>();
    let count = 0;
    for (const k of list) {
      const sig = `${ops[k]}|${stacks[k]!.join('|')}`;
      const c = (counts.get(sig) ?? 0) + 1;
      counts.set(sig, c);
      if (c > count) count = c;
    }
    if (count < 2) continue;
    const id = groups.length;
    groups.push({ id, label, count, nodes: list });
    for (const k of list) of[k] = id;
  }
  return { groups, of };
}
