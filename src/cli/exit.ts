/** Exit codes CI can act on. */
export const EXIT_OK = 0;
/** A gate (or a comparison with --fail-on-regression) failed. */
export const EXIT_GATE_FAILED = 1;
/** Bad input, unreachable server, or any execution error. */
export const EXIT_ERROR = 2;
