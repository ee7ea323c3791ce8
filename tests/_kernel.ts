/**
 * The test-side kernel helpers (a libc binding of the tests' own, cleanup
 * scope, /proc readers, error matchers).
 *
 * @module
 */
export * from "./_helpers.ts";
