/**
 * CURVE certificates on disk, byte-compatible with czmq's `zcert` and pyzmq's `zmq.auth`.
 *
 * A certificate pair is two ZPL files (ZeroMQ RFC 4): `NAME.key` holds the public key,
 * `NAME.key_secret` the public and the secret key. Both have a `metadata` section
 * (free `name = "value"` pairs) and a `curve` section (`public-key`, `secret-key`,
 * 40-character Z85 per RFC 32):
 *
 * ```text
 * #   ****  Generated on 2026-12-02 13:00:00 by zmq-labs  ****
 * #   ZeroMQ CURVE **Secret** Certificate
 * #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.
 *
 * metadata
 *     name = "agent1"
 * curve
 *     public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
 *     secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
 * ```
 *
 * Secret files are created with mode 0600 (never overwritten) and refused when group or
 * others may access them. No error message of this module ever quotes a key or a value
 * read from a file.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { curveKeyPair, curvePublic } from "./curve.ts";

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;
const SECRET_SUFFIX = "_secret";
/** ZPL names (RFC 4): a letter or digit, then letters, digits and `$-_@.&+/`. */
const ZPL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9$\-_@.&+/]*$/;
/** Certificates are small; a larger file is refused before it is parsed. */
export const MAX_CERT_BYTES = 64 * 1024;
/** At most this many metadata entries per certificate. */
export const MAX_METADATA = 64;

/** Why a certificate could not be used (never contains a key or a value from a file). */
export class CertError extends Error {
  override name = "CertError";
}

/** One ZPL node: a name, an optional value and child nodes (RFC 4). */
export interface ZplNode {
  name: string;
  value?: string;
  children: ZplNode[];
}

/**
 * Parses ZPL text (ZeroMQ RFC 4) into a tree whose root has no name. Indentation is four
 * spaces per level; values may be `"quoted"`, `'quoted'` or bare (up to a `#` comment).
 * Errors name the line number, never the line's text.
 *
 * @example
 * ```ts
 * import { parseZpl } from "@lib/zmq/zcert.ts";
 * const root = parseZpl('curve\n    public-key = "abc"\n');
 * root.children[0].children[0].value; // "abc"
 * ```
 */
export function parseZpl(text: string, source = "ZPL"): ZplNode {
  const root: ZplNode = { name: "", children: [] };
  const stack: ZplNode[] = [root];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const where = `${source}: line ${i + 1}`;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const indent = line.match(/^ */)![0].length;
    if (line[indent] === "\t") throw new CertError(`${where}: tabs are not allowed in ZPL`);
    if (indent % 4 !== 0) throw new CertError(`${where}: indentation is not a multiple of 4`);
    const level = indent / 4;
    if (level > stack.length - 1) {
      throw new CertError(`${where}: indented deeper than its parent`);
    }
    const rest = line.slice(indent);
    const nameMatch = rest.match(/^[^\s=#]+/);
    if (!nameMatch || !ZPL_NAME.test(nameMatch[0])) {
      throw new CertError(`${where}: expected a name of letters, digits and $-_@.&+/`);
    }
    const name = nameMatch[0];
    let after = rest.slice(name.length).trimStart();
    let value: string | undefined;
    if (after.startsWith("=")) {
      after = after.slice(1).trimStart();
      const quote = after[0];
      if (quote === '"' || quote === "'") {
        const end = after.indexOf(quote, 1);
        if (end < 0) throw new CertError(`${where}: unterminated quoted value`);
        value = after.slice(1, end);
        const tail = after.slice(end + 1).trim();
        if (tail !== "" && !tail.startsWith("#")) {
          throw new CertError(`${where}: unexpected text after a quoted value`);
        }
      } else {
        const hash = after.indexOf("#");
        value = (hash < 0 ? after : after.slice(0, hash)).trim();
      }
    } else if (after !== "" && !after.startsWith("#")) {
      throw new CertError(`${where}: expected "name = value" or a section name`);
    }
    const node: ZplNode = { name, value, children: [] };
    stack.length = level + 1;
    stack[level].children.push(node);
    stack.push(node);
  }
  return root;
}

/** A certificate as read from disk or about to be written. */
export interface Cert {
  publicKey: string;
  /** Only in a `_secret` file. */
  secretKey?: string;
  /** The `metadata` section, in file order. */
  metadata: Record<string, string>;
}

function checkMetadata(metadata: Record<string, string>): void {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA) {
    throw new CertError(`at most ${MAX_METADATA} metadata entries, got ${entries.length}`);
  }
  for (const [key, value] of entries) {
    if (!ZPL_NAME.test(key) || key.length > 255) {
      throw new CertError(
        `metadata name must be letters, digits and $-_@.&+/ (at most 255, starting alphanumeric)`,
      );
    }
    // pyzmq's loader takes any line starting with public-key/secret-key, in any section.
    if (/^(public|secret)-key/i.test(key)) {
      throw new CertError(`metadata name must not start with public-key or secret-key`);
    }
    // deno-lint-ignore no-control-regex
    if (/["\x00-\x1f\x7f]/.test(value) || value.length > 1024) {
      throw new CertError(
        `metadata value of ${key} must be at most 1024 characters without quotes or control characters`,
      );
    }
  }
}

function timestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/**
 * Renders a certificate in czmq's zcert text layout (the same banners, `metadata` then
 * `curve`, values double-quoted). `name`, when given, becomes the first metadata entry.
 *
 * @example
 * ```ts
 * import { formatCert } from "@lib/zmq/zcert.ts";
 * formatCert({ name: "agent1", publicKey: "x".repeat(40) }).includes("public-key"); // true
 * ```
 */
export function formatCert(
  cert: {
    name?: string;
    publicKey: string;
    secretKey?: string;
    metadata?: Record<string, string>;
    generated?: Date;
  },
): string {
  const metadata: Record<string, string> = {
    ...(cert.name !== undefined ? { name: cert.name } : {}),
    ...cert.metadata,
  };
  checkMetadata(metadata);
  if (!Z85_KEY.test(cert.publicKey)) {
    throw new CertError("public-key must be a 40-character Z85 key");
  }
  if (cert.secretKey !== undefined && !Z85_KEY.test(cert.secretKey)) {
    throw new CertError("secret-key must be a 40-character Z85 key");
  }
  const banner = `#   ****  Generated on ${
    timestamp(cert.generated ?? new Date())
  } by zmq-labs  ****`;
  const header = cert.secretKey !== undefined
    ? [
      banner,
      "#   ZeroMQ CURVE **Secret** Certificate",
      "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
    ]
    : [
      banner,
      "#   ZeroMQ CURVE Public Certificate",
      "#   Exchange securely, or use a secure mechanism to verify the contents",
      "#   of this file after exchange. Store public certificates in your home",
      "#   directory, in the .curve subdirectory.",
    ];
  return [
    ...header,
    "",
    "metadata",
    ...Object.entries(metadata).map(([key, value]) => `    ${key} = "${value}"`),
    "curve",
    `    public-key = "${cert.publicKey}"`,
    ...(cert.secretKey !== undefined ? [`    secret-key = "${cert.secretKey}"`] : []),
    "",
  ].join("\n");
}

function keyField(curve: ZplNode | undefined, name: string, path: string): string | undefined {
  const node = curve?.children.find((child) => child.name === name);
  if (!node) return undefined;
  if (node.value === undefined || !Z85_KEY.test(node.value)) {
    throw new CertError(
      `${path}: ${name} is not a 40-character Z85 key (got ${node.value?.length ?? 0} characters)`,
    );
  }
  return node.value;
}

/**
 * Parses a zcert file's text: the `curve` section's keys and the `metadata` section.
 * Throws {@link CertError} (without quoting the file) when there is no valid public key.
 *
 * @example
 * ```ts
 * import { formatCert, parseCert } from "@lib/zmq/zcert.ts";
 * const key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
 * parseCert(formatCert({ name: "a", publicKey: key }), "a.key").metadata.name; // "a"
 * ```
 */
export function parseCert(text: string, path: string): Cert {
  const root = parseZpl(text, path);
  const curve = root.children.find((node) => node.name === "curve");
  const publicKey = keyField(curve, "public-key", path);
  const secretKey = keyField(curve, "secret-key", path);
  if (publicKey === undefined) {
    throw new CertError(`${path}: expected a curve section with public-key = "...", found none`);
  }
  return { publicKey, secretKey, metadata: metadataOf(root, path) };
}

function metadataOf(root: ZplNode, path: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  const section = root.children.find((node) => node.name === "metadata");
  for (const child of section?.children ?? []) {
    if (Object.keys(metadata).length >= MAX_METADATA) {
      throw new CertError(`${path}: more than ${MAX_METADATA} metadata entries`);
    }
    metadata[child.name] = child.value ?? "";
  }
  return metadata;
}

/**
 * Parses the public key out of a zcert file's text (`public-key = "..."`).
 *
 * @example
 * ```ts
 * import { formatCert, parsePublicKey } from "@lib/zmq/zcert.ts";
 * const key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
 * parsePublicKey(formatCert({ name: "a", publicKey: key }), "a.key") === key; // true
 * ```
 */
export function parsePublicKey(text: string, path: string): string {
  return parseCert(text, path).publicKey;
}

/**
 * The short fingerprint of a public key for logs and the audit trail: the first 16 hex
 * characters of SHA-256 over the 40 Z85 characters.
 *
 * @example
 * ```ts
 * import { fingerprint } from "@lib/zmq/zcert.ts";
 * fingerprint("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7").length; // 16
 * ```
 */
export function fingerprint(publicKey: string): string {
  return createHash("sha256").update(publicKey).digest("hex").slice(0, 16);
}

/**
 * Paths of a certificate pair: `<dir>/<name>.key` and `<dir>/<name>.key_secret`.
 *
 * @example
 * ```ts
 * import { certPaths } from "@lib/zmq/zcert.ts";
 * certPaths("/etc/c2/agent1.key_secret").publicPath; // "/etc/c2/agent1.key"
 * ```
 */
export function certPaths(secretPath: string): { publicPath: string; secretPath: string } {
  if (!secretPath.endsWith(`.key${SECRET_SUFFIX}`)) {
    throw new CertError(
      `expected a secret certificate path ending in .key_secret, got ${secretPath}`,
    );
  }
  return { publicPath: secretPath.slice(0, -SECRET_SUFFIX.length), secretPath };
}

/** Options of {@link generateCert}. */
export interface GenerateCertOptions {
  /** Extra metadata (after `name`, which is the file's base name unless given here). */
  metadata?: Record<string, string>;
  /** Use this key pair instead of a fresh one (tests, imports). */
  keyPair?: { publicKey: string; secretKey: string };
}

/**
 * Writes a new key pair: the secret file is created with mode 0600 (never overwritten),
 * the public file 0644 (replaced if present). Metadata goes into both files, `name`
 * defaulting to the file's base name. Returns the public key.
 *
 * @example
 * ```ts
 * import { generateCert } from "@lib/zmq/zcert.ts";
 * const dir = await Deno.makeTempDir();
 * await generateCert(`${dir}/agent1.key_secret`, { metadata: { site: "lab" } });
 * ```
 */
export async function generateCert(
  secretPath: string,
  options: GenerateCertOptions = {},
): Promise<string> {
  const { publicPath } = certPaths(secretPath);
  const base = publicPath.replace(/^.*\//, "").replace(/\.key$/, "");
  const metadata = { name: base, ...options.metadata };
  checkMetadata(metadata);
  const { publicKey, secretKey } = options.keyPair ?? curveKeyPair();
  const generated = new Date();
  const parent = secretPath.includes("/") ? secretPath.slice(0, secretPath.lastIndexOf("/")) : ".";
  await Deno.mkdir(parent || "/", { recursive: true, mode: 0o755 });
  const secret = await Deno.open(secretPath, { write: true, createNew: true, mode: 0o600 });
  try {
    // umask may have narrowed it further, never widened it; make it exactly 0600.
    await Deno.chmod(secretPath, 0o600);
    const bytes = new TextEncoder().encode(
      formatCert({ publicKey, secretKey, metadata, generated }),
    );
    let written = 0;
    while (written < bytes.length) written += await secret.write(bytes.subarray(written));
  } finally {
    secret.close();
  }
  // Written under a fresh name and renamed: never through a symlink left at NAME.key.
  const temporary = `${publicPath}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(temporary, formatCert({ publicKey, metadata, generated }), {
    mode: 0o644,
    createNew: true,
  });
  await Deno.rename(temporary, publicPath);
  return publicKey;
}

function readLimited(path: string, what: string): string {
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) throw new CertError(`${path}: not a regular file`);
    if (info.size > MAX_CERT_BYTES) {
      throw new CertError(`${path}: larger than ${MAX_CERT_BYTES} bytes, not a certificate`);
    }
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof CertError) throw error;
    throw new CertError(`${path}: cannot read the ${what}: ${(error as Error).name}`);
  }
}

/**
 * Whether a secret file's mode is acceptable (no group/others bits), and why not.
 *
 * @example
 * ```ts
 * import { secretModeProblem } from "@lib/zmq/zcert.ts";
 * secretModeProblem(0o100644); // "expected mode 0600, got 0644"
 * secretModeProblem(0o100600); // undefined
 * ```
 */
export function secretModeProblem(mode: number | null): string | undefined {
  if (mode === null || (mode & 0o077) === 0) return undefined;
  return `expected mode 0600, got 0${(mode & 0o777).toString(8)}`;
}

/**
 * Reads a secret certificate, refusing one that group or others may access. Returns both
 * keys (the public one derived from the secret with `zmq_curve_public`, and checked
 * against the file's `public-key` when present) and the metadata. Synchronous, so a role's
 * `validate` can check it before anything opens.
 *
 * @example
 * ```ts
 * import { generateCert, readSecretCert } from "@lib/zmq/zcert.ts";
 * const dir = await Deno.makeTempDir();
 * await generateCert(`${dir}/a.key_secret`);
 * const { publicKey } = readSecretCert(`${dir}/a.key_secret`);
 * ```
 */
export function readSecretCert(
  path: string,
): { publicKey: string; secretKey: string; metadata: Record<string, string> } {
  let mode: number | null;
  try {
    mode = Deno.statSync(path).mode;
  } catch (error) {
    throw new CertError(`${path}: cannot read the secret certificate: ${(error as Error).name}`);
  }
  const problem = secretModeProblem(mode);
  if (problem) {
    throw new CertError(
      `${path}: refusing a secret certificate that group/others can access: ${problem}`,
    );
  }
  const text = readLimited(path, "secret certificate");
  const root = parseZpl(text, path);
  const curve = root.children.find((node) => node.name === "curve");
  const secretKey = keyField(curve, "secret-key", path);
  if (secretKey === undefined) {
    throw new CertError(`${path}: expected a curve section with secret-key = "...", found none`);
  }
  let publicKey: string;
  try {
    publicKey = curvePublic(secretKey);
  } catch {
    throw new CertError(`${path}: secret-key is not a valid CURVE secret key`);
  }
  const stated = keyField(curve, "public-key", path);
  if (stated !== undefined && stated !== publicKey) {
    throw new CertError(`${path}: public-key does not match the one derived from secret-key`);
  }
  return { publicKey, secretKey, metadata: metadataOf(root, path) };
}

/**
 * Reads a public certificate (or the public half of a secret one): key and metadata.
 *
 * @example
 * ```ts
 * import { generateCert, readCert } from "@lib/zmq/zcert.ts";
 * const dir = await Deno.makeTempDir();
 * await generateCert(`${dir}/s.key_secret`, { metadata: { role: "server" } });
 * (await readCert(`${dir}/s.key`)).metadata.role; // "server"
 * ```
 */
export function readCert(path: string): Promise<Cert> {
  return Promise.resolve().then(() => {
    const cert = parseCert(readLimited(path, "certificate"), path);
    // Never hand a secret out of a function meant for public certificates.
    return { publicKey: cert.publicKey, metadata: cert.metadata };
  });
}

/**
 * Reads a public certificate (`public-key = "..."`), e.g. the server key an agent pins.
 *
 * @example
 * ```ts
 * import { generateCert, readPublicCert } from "@lib/zmq/zcert.ts";
 * const dir = await Deno.makeTempDir();
 * const key = await generateCert(`${dir}/s.key_secret`);
 * (await readPublicCert(`${dir}/s.key`)) === key; // true
 * ```
 */
export async function readPublicCert(path: string): Promise<string> {
  return (await readCert(path)).publicKey;
}

/** An allow-list directory as loaded: public key -> certificate name, and unusable files. */
export interface CertDirectory {
  keys: Map<string, string>;
  problems: { file: string; reason: string }[];
}

/**
 * Loads every `*.key` public certificate of a directory (`*.key_secret` and other files
 * are ignored; a bad certificate is reported and skipped, never fatal). The name of a key
 * is the file's base name.
 *
 * @example
 * ```ts
 * import { loadCertDirectory } from "@lib/zmq/zcert.ts";
 * const dir = await Deno.makeTempDir();
 * (await loadCertDirectory(dir)).keys.size; // 0
 * ```
 */
export async function loadCertDirectory(dir: string, maxFiles = 10_000): Promise<CertDirectory> {
  const keys = new Map<string, string>();
  const problems: { file: string; reason: string }[] = [];
  let count = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".key") || !(entry.isFile || entry.isSymlink)) continue;
    if (++count > maxFiles) {
      problems.push({ file: entry.name, reason: `more than ${maxFiles} certificates: ignored` });
      break;
    }
    try {
      keys.set(await readPublicCert(`${dir}/${entry.name}`), entry.name.slice(0, -4));
    } catch (error) {
      problems.push({ file: entry.name, reason: (error as Error).message });
    }
  }
  return { keys, problems };
}

/**
 * A cheap signature of a directory's certificates (names, sizes, mtimes) so a poll can
 * tell whether to reload.
 *
 * @example
 * ```ts
 * import { directorySignature } from "@lib/zmq/zcert.ts";
 * const dir = await Deno.makeTempDir();
 * await directorySignature(dir); // ""
 * ```
 */
export async function directorySignature(dir: string): Promise<string> {
  const parts: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".key")) continue;
    try {
      const info = await Deno.stat(`${dir}/${entry.name}`);
      parts.push(`${entry.name}:${info.size}:${info.mtime?.getTime() ?? 0}`);
    } catch {
      parts.push(`${entry.name}:gone`);
    }
  }
  return parts.sort().join("|");
}

/** One file's verdict from {@link checkCertDirectory}. */
export interface CertCheck {
  file: string;
  kind: "public" | "secret";
  ok: boolean;
  /** The fingerprint of the certificate's public key when it parsed. */
  fingerprint?: string;
  problems: string[];
}

/**
 * Validates every `*.key` / `*.key_secret` file of a directory: it parses, its keys are
 * Z85, a secret file is mode 0600 and its public key (derived from the secret) matches
 * both its own `public-key` line and the public file next to it.
 *
 * @example
 * ```ts
 * import { checkCertDirectory, generateCert } from "@lib/zmq/zcert.ts";
 * const dir = await Deno.makeTempDir();
 * await generateCert(`${dir}/a.key_secret`);
 * (await checkCertDirectory(dir)).every((check) => check.ok); // true
 * ```
 */
export async function checkCertDirectory(dir: string, maxFiles = 10_000): Promise<CertCheck[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".key") || entry.name.endsWith(".key_secret")) names.push(entry.name);
    if (names.length >= maxFiles) break;
  }
  names.sort();
  const publicKeys = new Map<string, string>();
  const checks: CertCheck[] = [];
  for (const file of names.filter((name) => name.endsWith(".key"))) {
    const check: CertCheck = { file, kind: "public", ok: true, problems: [] };
    try {
      const cert = parseCert(readLimited(`${dir}/${file}`, "certificate"), file);
      if (cert.secretKey !== undefined) {
        check.problems.push("a public certificate holds a secret-key: treat it as leaked");
      }
      publicKeys.set(file, cert.publicKey);
      check.fingerprint = fingerprint(cert.publicKey);
    } catch (error) {
      check.problems.push((error as Error).message);
    }
    check.ok = check.problems.length === 0;
    checks.push(check);
  }
  for (const file of names.filter((name) => name.endsWith(".key_secret"))) {
    const check: CertCheck = { file, kind: "secret", ok: true, problems: [] };
    try {
      const { publicKey } = readSecretCert(`${dir}/${file}`);
      check.fingerprint = fingerprint(publicKey);
      const twin = file.slice(0, -SECRET_SUFFIX.length);
      if (!publicKeys.has(twin)) check.problems.push(`no public certificate ${twin} next to it`);
      else if (publicKeys.get(twin) !== publicKey) {
        check.problems.push(`${twin} holds a different public key`);
      }
    } catch (error) {
      check.problems.push((error as Error).message);
    }
    check.ok = check.problems.length === 0;
    checks.push(check);
  }
  return checks;
}
