/**
 * Hand-written gradients of the workloads in workloads.ts: what a careful
 * user would write instead of using automatic differentiation, and the
 * reference every other method's error is measured against. (Checked against
 * central finite differences in test/bench-smoke.test.ts.)
 */
import type { HuberData, MlpData, RnnData } from './workloads.ts';

export function rosenbrockGrad(x: readonly number[]): Float64Array {
  const n = x.length;
  const g = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) {
    const a = x[i];
    const e = x[i + 1] - a * a;
    g[i] += -400 * a * e - 2 * (1 - a);
    g[i + 1] += 200 * e;
  }
  return g;
}

export function mlpGrad(p: readonly number[], data: MlpData): Float64Array {
  const { inputs, targets, hidden } = data;
  const d = inputs[0].length;
  const m = inputs.length;
  const b1 = hidden * d;
  const w2 = b1 + hidden;
  const b2 = w2 + hidden;
  const g = new Float64Array(p.length);
  const act = new Float64Array(hidden);
  for (let k = 0; k < m; k++) {
    const x = inputs[k];
    let out = p[b2];
    for (let j = 0; j < hidden; j++) {
      const row = j * d;
      let z = p[b1 + j];
      for (let i = 0; i < d; i++) z += p[row + i] * x[i];
      act[j] = Math.tanh(z);
      out += p[w2 + j] * act[j];
    }
    const dOut = (2 * (out - targets[k])) / m; // d loss / d y_k
    g[b2] += dOut;
    for (let j = 0; j < hidden; j++) {
      g[w2 + j] += dOut * act[j];
      const dz = dOut * p[w2 + j] * (1 - act[j] * act[j]);
      g[b1 + j] += dz;
      const row = j * d;
      for (let i = 0; i < d; i++) g[row + i] += dz * x[i];
    }
  }
  return g;
}

/** Backpropagation through time over the stored hidden states. */
export function rnnGrad(p: readonly number[], data: RnnData): Float64Array {
  const { xs, ys, hidden: H } = data;
  const D = xs[0].length;
  const T = xs.length;
  const oU = H * H;
  const ob = oU + H * D;
  const ov = ob + H;
  const oc = ov + H;
  // hs[t] = state after t steps (hs[0] = 0); dy[t] = d loss / d y_t.
  const hs: Float64Array[] = [new Float64Array(H)];
  const dy = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const prev = hs[t];
    const x = xs[t];
    const h = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      let z = p[ob + j];
      for (let k = 0; k < H; k++) z += p[j * H + k] * prev[k];
      for (let i = 0; i < D; i++) z += p[oU + j * D + i] * x[i];
      h[j] = Math.tanh(z);
    }
    hs.push(h);
    let y = p[oc];
    for (let j = 0; j < H; j++) y += p[ov + j] * h[j];
    dy[t] = (2 * (y - ys[t])) / T;
  }
  const g = new Float64Array(p.length);
  let dh = new Float64Array(H); // d loss / d h_{t+1} from steps after t
  const dz = new Float64Array(H);
  for (let t = T - 1; t >= 0; t--) {
    const h = hs[t + 1];
    const prev = hs[t];
    const x = xs[t];
    g[oc] += dy[t];
    for (let j = 0; j < H; j++) {
      g[ov + j] += dy[t] * h[j];
      dz[j] = (dh[j] + dy[t] * p[ov + j]) * (1 - h[j] * h[j]);
    }
    const dPrev = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const dzj = dz[j];
      g[ob + j] += dzj;
      const rowW = j * H;
      for (let k = 0; k < H; k++) {
        g[rowW + k] += dzj * prev[k];
        dPrev[k] += dzj * p[rowW + k];
      }
      const rowU = oU + j * D;
      for (let i = 0; i < D; i++) g[rowU + i] += dzj * x[i];
    }
    dh = dPrev;
  }
  return g;
}

export function straightLineGrad(x: readonly number[]): Float64Array {
  const n = x.length;
  const g = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) {
    g[i] += Math.cos(x[i]) * x[i + 1];
    g[i + 1] += Math.sin(x[i]);
  }
  return g;
}

export function huberGrad(x: readonly number[], data: HuberData): Float64Array {
  const { c, delta } = data;
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const r = x[i] - c[i];
    g[i] = Math.abs(r) <= delta ? r : delta * Math.sign(r);
  }
  return g;
}

export function helperCallsGrad(x: readonly number[]): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const e = Math.exp(x[i]);
    const sp = Math.log(1 + e);
    const t = 0.5 * x[i];
    const p = 1 + t * (1 + t * (1 + t));
    const dp = 1 + t * (2 + 3 * t);
    g[i] = (e / (1 + e)) * p + sp * 0.5 * dp;
  }
  return g;
}
