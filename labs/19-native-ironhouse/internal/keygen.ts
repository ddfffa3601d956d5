/**
 * keygen's pure parts: `--meta key=value` parsing and the text of `keygen show` and
 * `keygen check`. Nothing here ever prints a secret key.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";
import type { CertCheck } from "@lib/zmq/zcert.ts";

/**
 * Parses one `--meta key=value` (ZPL name rules for the key; no quotes or control
 * characters in the value).
 *
 * @example
 * ```ts
 * import { metaPair } from "./keygen.ts";
 * metaPair("site=plant 7"); // ["site", "plant 7"]
 * ```
 */
export function metaPair(value: string): [string, string] {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got ${JSON.stringify(value)}`);
  const key = value.slice(0, eq).trim();
  const text = value.slice(eq + 1).trim();
  if (!/^[a-zA-Z0-9][a-zA-Z0-9$\-_@.&+/]{0,254}$/.test(key)) {
    throw new InvalidArgumentError(
      `expected a key of letters, digits and $-_@.&+/ (ZPL), got ${JSON.stringify(key)}`,
    );
  }
  // pyzmq's zmq.auth.load_certificate takes the first lines *starting with* `public-key` /
  // `secret-key`, in any section: a metadata entry named so would replace the real keys.
  if (/^(public|secret)-key/i.test(key)) {
    throw new InvalidArgumentError(
      `expected a key not starting with public-key or secret-key (pyzmq would read it as the key), got ${
        JSON.stringify(key)
      }`,
    );
  }
  // deno-lint-ignore no-control-regex
  if (/["\x00-\x1f\x7f]/.test(text) || text.length > 1024) {
    throw new InvalidArgumentError(
      `expected a value of at most 1024 characters without quotes or control characters`,
    );
  }
  return [key, text];
}

/**
 * Collects repeated `--meta` flags into an object (commander's reducer).
 *
 * @example
 * ```ts
 * import { collectMeta } from "./keygen.ts";
 * collectMeta("b=2", collectMeta("a=1", {})); // { a: "1", b: "2" }
 * ```
 */
export function collectMeta(
  value: string,
  previous: Record<string, string>,
): Record<string, string> {
  const [key, text] = metaPair(value);
  return { ...previous, [key]: text };
}

/**
 * The lines `keygen show` prints for a certificate (public key, fingerprint, metadata).
 *
 * @example
 * ```ts
 * import { showLines } from "./keygen.ts";
 * showLines("a.key", { publicKey: "k", fingerprint: "f", metadata: { name: "a" }, kind: "public" });
 * ```
 */
export function showLines(
  file: string,
  cert: {
    publicKey: string;
    fingerprint: string;
    metadata: Record<string, string>;
    kind: "public" | "secret";
    mode?: string;
  },
): string[] {
  return [
    `file:        ${file} (${cert.kind} certificate${cert.mode ? `, mode ${cert.mode}` : ""})`,
    `public-key:  ${cert.publicKey}`,
    `fingerprint: ${cert.fingerprint}`,
    ...(Object.keys(cert.metadata).length === 0 ? ["metadata:    (none)"] : [
      "metadata:",
      ...Object.entries(cert.metadata).map(([k, v]) => `  ${k} = ${printable(v)}`),
    ]),
  ];
}

/** A value read from a file, with control characters (terminal escapes) shown escaped. */
function printable(value: string): string {
  return value.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * The table `keygen check` prints: one line per file, OK or the problems.
 *
 * @example
 * ```ts
 * import { checkLines } from "./keygen.ts";
 * checkLines([{ file: "a.key", kind: "public", ok: true, fingerprint: "f", problems: [] }]);
 * ```
 */
export function checkLines(checks: CertCheck[]): string[] {
  const width = Math.max(4, ...checks.map((c) => c.file.length));
  const lines = checks.map((c) =>
    `${c.ok ? "OK  " : "BAD "} ${c.file.padEnd(width)}  ${c.kind.padEnd(6)}  ${
      c.fingerprint ?? "-".repeat(16)
    }${c.ok ? "" : `  ${c.problems.join("; ")}`}`
  );
  const bad = checks.filter((c) => !c.ok).length;
  return [
    ...lines,
    checks.length === 0
      ? "no certificates (*.key, *.key_secret) found"
      : `${checks.length} file(s), ${bad} with problems`,
  ];
}
