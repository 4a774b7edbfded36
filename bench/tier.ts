/**
 * The switch between generated tangent code and the Dual runtime, for the
 * benchmarks. (A file that imports `dualtape/ops` is taken by the plugin for
 * its own output and left alone, so this lives apart from the functions it
 * measures.)
 */
export { hasTangentCode, setTangentTier } from 'dualtape/ops';
