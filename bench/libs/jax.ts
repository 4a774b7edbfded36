/**
 * The workloads written with jax-js array operations, differentiated with
 * `jit(grad(loss))` on its wasm backend in float64.
 *
 * Parameters and data are uploaded once per instance (not timed); a timed
 * gradient is one call of the jitted function plus reading the gradient back
 * into a Float64Array (`dataSync`). jax-js counts references: every use of an
 * array consumes it, so arrays used again are passed as `.ref`.
 */
import type { Array as JaxArray } from '@jax-js/jax';
import type { AnyWorkload, Instance } from '../cases.ts';
import type { Method, Prepared } from '../harness.ts';
import type { MlpData, RnnData } from '../workloads.ts';
import { firstLine, installedVersion, type LibraryLoad } from './common.ts';

type Jax = typeof import('@jax-js/jax');
type Loss = (p: JaxArray, ...data: JaxArray[]) => JaxArray;

export async function loadJax(): Promise<LibraryLoad> {
  const info = {
    id: 'jax',
    name: 'jax-js (@jax-js/jax)',
    version: installedVersion('@jax-js/jax'),
    status: 'ok' as 'ok' | 'failed',
    error: undefined as string | undefined,
    notes: ['wasm backend, float64', 'jit(grad(f)); inputs resident on the device, gradient read back with dataSync()'],
  };
  try {
    // jax-js refers to Float16Array, which Node 20 lacks: a placeholder class
    // is enough (this benchmark never makes float16 arrays).
    const g = globalThis as { Float16Array?: unknown };
    if (g.Float16Array === undefined) {
      g.Float16Array = class Float16Array {};
      info.notes.push('Node 20 has no Float16Array: a placeholder class was defined before importing jax-js');
    }
    const jax: Jax = await import('@jax-js/jax');
    const devices = await jax.init('wasm');
    if (!devices.includes('wasm')) throw new Error(`init('wasm') returned [${devices.join(', ')}]`);
    jax.defaultDevice('wasm');
    const method: Method = {
      id: 'jax',
      label: 'jax-js wasm f64',
      cost: 'constant',
      prepare: async (w, inst) => prepareJax(jax, w, inst),
    };
    return { info: [info], methods: [method] };
  } catch (e) {
    info.status = 'failed';
    info.error = firstLine(e);
    return { info: [info], methods: [] };
  }
}

function prepareJax(jax: Jax, w: AnyWorkload, inst: Instance): Prepared {
  const { numpy: np, jit, grad } = jax;
  const f64 = (values: readonly number[], shape?: number[]): JaxArray =>
    np.array(Float64Array.from(values), shape ? { dtype: np.float64, shape } : { dtype: np.float64 });

  let loss: Loss;
  let data: JaxArray[];
  switch (w.id) {
    case 'rosenbrock':
      loss = (x) => {
        const n = x.shape[0]!;
        const a = x.ref.slice([0, n - 1]);
        const b = x.slice([1]);
        const t = b.sub(np.square(a.ref));
        return np.square(t).mul(100).add(np.square(np.subtract(1, a))).sum();
      };
      data = [];
      break;
    case 'straight-line':
      loss = (x) => {
        const n = x.shape[0]!;
        return np.sin(x.ref.slice([0, n - 1])).mul(x.slice([1])).sum();
      };
      data = [];
      break;
    case 'mlp': {
      const { inputs, targets, hidden: H } = inst.data as MlpData;
      const D = inputs[0]!.length;
      loss = (p, X, Y) => {
        const W1 = p.ref.slice([0, H * D]).reshape([H, D]);
        const b1 = p.ref.slice([H * D, H * D + H]);
        const w2 = p.ref.slice([H * D + H, H * D + 2 * H]);
        const b2 = p.slice([H * D + 2 * H, H * D + 2 * H + 1]);
        const hid = np.tanh(np.matmul(X!, W1.transpose()).add(b1)); // [m, H]
        const out = np.matmul(hid, w2).add(b2); // [m]
        return np.square(out.sub(Y!)).mean();
      };
      data = [f64(inputs.flat(), [inputs.length, D]), f64(targets)];
      break;
    }
    case 'rnn': {
      const { xs, ys, hidden: H } = inst.data as RnnData;
      const D = xs[0]!.length;
      const T = xs.length;
      const oU = H * H;
      const ob = oU + H * D;
      const ov = ob + H;
      const oc = ov + H;
      loss = (p, X, Y) => {
        const W = p.ref.slice([0, oU]).reshape([H, H]);
        const U = p.ref.slice([oU, ob]).reshape([H, D]);
        const b = p.ref.slice([ob, ov]);
        const v = p.ref.slice([ov, oc]);
        const c = p.slice([oc, oc + 1]);
        const pre = np.matmul(X!, U.transpose()).add(b); // U x_t + b for every t: [T, H]
        let h = np.zeros([H], { dtype: np.float64 });
        const outs: JaxArray[] = [];
        for (let t = 0; t < T; t++) {
          h = np.tanh(np.matmul(W.ref, h).add(pre.ref.slice(t)));
          outs.push(np.dot(v.ref, h.ref));
        }
        W.dispose();
        v.dispose();
        pre.dispose();
        h.dispose();
        const y = np.stack(outs).add(c);
        return np.square(y.sub(Y!)).mean();
      };
      data = [f64(xs.flat(), [T, D]), f64(ys)];
      break;
    }
    default:
      throw new Error(`no array-library version of the ${w.id} workload`);
  }

  const gradient = jit(grad(loss));
  const x = f64(inst.x);
  return {
    run: () => gradient(x.ref, ...data.map((a) => a.ref)).dataSync(),
    dispose: () => {
      x.dispose();
      for (const a of data) a.dispose();
      gradient.dispose();
    },
  };
}
