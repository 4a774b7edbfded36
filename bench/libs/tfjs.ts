/**
 * The workloads written with TensorFlow.js ops, differentiated with
 * `tf.grad(loss)`, on the pure-JavaScript cpu backend (`@tensorflow/tfjs`) and
 * on the wasm backend (`@tensorflow/tfjs-backend-wasm`). TensorFlow.js
 * computes in float32 only, so its gradients differ from the float64 ones at
 * the 1e-7 level.
 *
 * Parameters and data are uploaded once per instance (not timed); a timed
 * gradient is one `tf.grad` call inside `tf.tidy` plus reading the gradient
 * back (`dataSync`).
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TF from '@tensorflow/tfjs';
import type { AnyWorkload, Instance } from '../cases.ts';
import type { Method, MethodId, Prepared } from '../harness.ts';
import type { MlpData, RnnData } from '../workloads.ts';
import { firstLine, installedVersion, type LibraryInfo, type LibraryLoad } from './common.ts';

type Tf = typeof TF;
type Tensor = TF.Tensor;
type Loss = (p: Tensor) => TF.Scalar;

/** Runs `fn` with console.warn silenced (tfjs greets Node users with a banner). */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

export async function loadTfjs(): Promise<LibraryLoad> {
  const version = installedVersion('@tensorflow/tfjs');
  const cpu: LibraryInfo = {
    id: 'tfjs-cpu',
    name: 'TensorFlow.js cpu backend (@tensorflow/tfjs)',
    version,
    status: 'ok',
    notes: ['pure-JavaScript kernels, float32', 'tf.grad(f) in tf.tidy; inputs resident, gradient read back with dataSync()'],
  };
  const wasm: LibraryInfo = {
    id: 'tfjs-wasm',
    name: 'TensorFlow.js wasm backend (@tensorflow/tfjs-backend-wasm)',
    version: installedVersion('@tensorflow/tfjs-backend-wasm'),
    status: 'ok',
    notes: ['XNNPACK wasm kernels, float32', 'tf.grad(f) in tf.tidy; inputs resident, gradient read back with dataSync()'],
  };
  const methods: Method[] = [];
  let tf: Tf;
  try {
    tf = await import('@tensorflow/tfjs');
    if (!(await quietly(() => tf.setBackend('cpu')))) throw new Error("tf.setBackend('cpu') returned false");
    await tf.ready();
    methods.push(tfMethod(tf, 'tfjs-cpu', 'tfjs cpu f32', 'cpu'));
  } catch (e) {
    cpu.status = 'failed';
    cpu.error = firstLine(e);
    wasm.status = 'failed';
    wasm.error = `@tensorflow/tfjs did not load: ${cpu.error}`;
    return { info: [cpu, wasm], methods };
  }
  try {
    const backend = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from a directory on disk: this package's dist/.
    const dir = dirname(fileURLToPath(import.meta.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')));
    backend.setWasmPaths(`${dir}/`);
    if (!(await quietly(() => tf.setBackend('wasm')))) throw new Error("tf.setBackend('wasm') returned false");
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    wasm.notes.push(`SIMD: ${String(simd)}, multithreading: ${String(threads)}`);
    methods.push(tfMethod(tf, 'tfjs-wasm', 'tfjs wasm f32', 'wasm'));
  } catch (e) {
    wasm.status = 'failed';
    wasm.error = firstLine(e);
  }
  return { info: [cpu, wasm], methods };
}

function tfMethod(tf: Tf, id: MethodId, label: string, backend: 'cpu' | 'wasm'): Method {
  return {
    id,
    label,
    cost: 'constant',
    async prepare(w, inst) {
      await tf.setBackend(backend);
      return prepareTf(tf, backend, w, inst);
    },
  };
}

function prepareTf(tf: Tf, backend: string, w: AnyWorkload, inst: Instance): Prepared {
  const kept: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => {
    kept.push(t);
    return t;
  };
  let loss: Loss;
  switch (w.id) {
    case 'rosenbrock':
      loss = (x) => {
        const n = x.shape[0]!;
        const a = x.slice(0, n - 1);
        const b = x.slice(1, n - 1);
        return tf.add(tf.mul(100, tf.square(tf.sub(b, tf.square(a)))), tf.square(tf.sub(1, a))).sum();
      };
      break;
    case 'straight-line':
      loss = (x) => {
        const n = x.shape[0]!;
        return tf.sin(x.slice(0, n - 1)).mul(x.slice(1, n - 1)).sum();
      };
      break;
    case 'mlp': {
      const { inputs, targets, hidden: H } = inst.data as MlpData;
      const D = inputs[0]!.length;
      const m = inputs.length;
      const X = keep(tf.tensor2d(inputs.flat(), [m, D]));
      const Y = keep(tf.tensor1d(targets));
      loss = (p) => {
        const W1 = p.slice(0, H * D).reshape([H, D]) as TF.Tensor2D;
        const b1 = p.slice(H * D, H);
        const w2 = p.slice(H * D + H, H).reshape([H, 1]) as TF.Tensor2D;
        const b2 = p.slice(H * D + 2 * H, 1);
        const hid = tf.tanh(tf.matMul(X, W1, false, true).add(b1)) as TF.Tensor2D; // [m, H]
        const out = tf.matMul(hid, w2).reshape([m]).add(b2);
        return tf.square(out.sub(Y)).mean();
      };
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
      const X = keep(tf.tensor2d(xs.flat(), [T, D]));
      const Y = keep(tf.tensor1d(ys));
      loss = (p) => {
        const W = p.slice(0, oU).reshape([H, H]) as TF.Tensor2D;
        const U = p.slice(oU, H * D).reshape([H, D]) as TF.Tensor2D;
        const b = p.slice(ob, H);
        const v = p.slice(ov, H).reshape([H, 1]) as TF.Tensor2D;
        const c = p.slice(oc, 1);
        const pre = tf.matMul(X, U, false, true).add(b) as TF.Tensor2D; // U x_t + b for every t: [T, H]
        let h = tf.zeros([1, H]) as TF.Tensor2D; // a row vector: h W^T = (W h)^T
        const outs: Tensor[] = [];
        for (let t = 0; t < T; t++) {
          h = tf.tanh(tf.matMul(h, W, false, true).add(pre.slice([t, 0], [1, H])));
          outs.push(tf.matMul(h, v));
        }
        const y = tf.concat(outs, 0).reshape([T]).add(c);
        return tf.square(y.sub(Y)).mean();
      };
      break;
    }
    default:
      throw new Error(`no array-library version of the ${w.id} workload`);
  }
  const gradient = tf.grad(loss);
  const x = keep(tf.tensor1d(inst.x));
  return {
    enter: () => {
      // Synchronous once the backend is initialized (it was, at load).
      void tf.setBackend(backend);
    },
    run: () => {
      const g = tf.tidy(() => gradient(x));
      const values = g.dataSync();
      g.dispose();
      return values;
    },
    dispose: () => {
      for (const t of kept) t.dispose();
    },
  };
}
