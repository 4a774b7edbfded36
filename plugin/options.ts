/** The options of the dualtape Babel plugin (`dualtape/babel`), also taken by every bundler entry. */
export interface DualtapeBabelOptions {
  /** The module users import dualtape from (default 'dualtape'); compiled code imports `${runtime}/ops`. */
  runtime?: string;
  /**
   * Statement-level preaccumulation (default true): arithmetic expressions
   * get a plain-JS fast path recording one tape node each. False gives one
   * runtime call per operation (smaller output, slower).
   */
  fastPath?: boolean;
  /**
   * Generated forward-mode code (default true): a tangent version of each
   * compiled function that forward mode runs on plain numbers (see
   * plugin/tangent/). False leaves forward mode on the Dual runtime.
   */
  tangent?: boolean;
  /**
   * The adjoint tier (default true): functions the plugin can compile whole
   * also get generated adjoint code (forward and reverse sweeps on plain
   * numbers), which `grad` runs instead of the tape. See docs/adjoint.md.
   */
  adjoint?: boolean;
  /** Print, per function, which tier its gradients run on and why (also DUALTAPE_REPORT=1). */
  report?: boolean;
}
