/**
 * Lab 02 test helpers shared by the unit tests, the process tests and the benchmark.
 *
 * @module
 */

/**
 * Pathological log lines of ~16 KB (issue 9 #1): each took seconds to minutes with the
 * old backtracking regexes; the anonymiser must stay linear on all of them.
 *
 * @example
 * ```ts
 * for (const [name, line] of PATHOLOGICAL_LINES) console.log(name, line.length);
 * ```
 */
export const PATHOLOGICAL_LINES: readonly (readonly [string, string])[] = [
  ["4,000+ colons after text", "<13>1 2026-11-26T10:00:00Z h app - - - dump " + ":".repeat(16_000)],
  ["a colon hexdump", "<13>Nov 26 10:00:00 h kernel: " + "0a:".repeat(5300)],
  ["dots", "x " + ".".repeat(16_000)],
  ["hex digits", "ab".repeat(8000)],
  ["hex with colons", "a:".repeat(8000)],
  ["@ signs", "@".repeat(16_000)],
  ["local part then @", "a".repeat(16_000) + "@"],
  ["%40 chains", "x%40".repeat(4000)],
  ["email-like chain", "a@b.".repeat(4000)],
  ["long token", "Z".repeat(16_000)],
  ["JWT-like starts", "eyJ-".repeat(4000)],
  ["secret keys with open quotes", '{"msg":"' + 'password=\\"'.repeat(1400) + '"}'],
  ["spaced digits", "1 ".repeat(8000)],
  ["user-like chain", "for a.".repeat(2700)],
];
