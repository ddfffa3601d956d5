/**
 * CURVE certificates on disk in czmq's `zcert` layout (ZPL): `NAME.key` holds the public
 * key, `NAME.key_secret` the public and secret keys and is created with mode 0600. Secret
 * files that group or others can read are refused. Errors never quote a key.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { curveKeyPair, curvePublic } from "@lib/zmq/mod.ts";

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;
const SECRET_SUFFIX = "_secret";

/**
 * Renders a certificate in czmq's zcert text layout.
 *
 * @example
 * ```ts
 * import { formatCert } from "./cert_store.ts";
 * formatCert({ name: "agent1", publicKey: "x".repeat(40) }).includes("public-key"); // true
 * ```
 */
export function formatCert(
  cert: { name: string; publicKey: string; secretKey?: string },
): string {
  const header = cert.secretKey
    ? [
      "#   ZeroMQ CURVE **Secret** Certificate (czmq zcert layout, zmq-labs Lab 09)",
      "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
    ]
    : ["#   ZeroMQ CURVE Public Certificate (czmq zcert layout, zmq-labs Lab 09)"];
  return [
    ...header,
    "",
    "metadata",
    `    name = "${cert.name}"`,
    "curve",
    `    public-key = "${cert.publicKey}"`,
    ...(cert.secretKey ? [`    secret-key = "${cert.secretKey}"`] : []),
    "",
  ].join("\n");
}

/** Why a certificate could not be used (never contains a key). */
export class CertError extends Error {
  override name = "CertError";
}

function field(text: string, name: string, path: string): string {
  const match = text.match(new RegExp(`^\\s*${name}\\s*=\\s*"([^"\\n]*)"\\s*$`, "m"));
  if (!match) throw new CertError(`${path}: expected a ${name} = "..." line, found none`);
  if (!Z85_KEY.test(match[1])) {
    throw new CertError(
      `${path}: ${name} is not a 40-character Z85 key (got ${match[1].length} characters)`,
    );
  }
  return match[1];
}

/**
 * Parses the public key out of a zcert file's text (`public-key = "..."`).
 *
 * @example
 * ```ts
 * import { formatCert, parsePublicKey } from "./cert_store.ts";
 * const key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
 * parsePublicKey(formatCert({ name: "a", publicKey: key }), "a.key") === key; // true
 * ```
 */
export function parsePublicKey(text: string, path: string): string {
  return field(text, "public-key", path);
}

/**
 * The short fingerprint of a public key for logs and the audit trail: the first 16 hex
 * characters of SHA-256 over the 40 Z85 characters.
 *
 * @example
 * ```ts
 * import { fingerprint } from "./cert_store.ts";
 * fingerprint("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7").length; // 16
 * ```
 */
export function fingerprint(publicKey: string): string {
  return createHash("sha256").update(publicKey).digest("hex").slice(0, 16);
}

/** Paths of a certificate pair: `<dir>/<name>.key` and `<dir>/<name>.key_secret`. */
export function certPaths(secretPath: string): { publicPath: string; secretPath: string } {
  if (!secretPath.endsWith(`.key${SECRET_SUFFIX}`)) {
    throw new CertError(
      `expected a secret certificate path ending in .key_secret, got ${secretPath}`,
    );
  }
  return { publicPath: secretPath.slice(0, -SECRET_SUFFIX.length), secretPath };
}

/**
 * Writes a new key pair: the secret file is created with mode 0600 (never overwritten),
 * the public file 0644. Returns the public key.
 *
 * @example
 * ```ts
 * import { generateCert } from "./cert_store.ts";
 * const dir = await Deno.makeTempDir();
 * await generateCert(`${dir}/agent1.key_secret`);
 * ```
 */
export async function generateCert(secretPath: string): Promise<string> {
  const { publicPath } = certPaths(secretPath);
  const name = publicPath.replace(/^.*\//, "").replace(/\.key$/, "");
  const { publicKey, secretKey } = curveKeyPair();
  const parent = secretPath.includes("/") ? secretPath.slice(0, secretPath.lastIndexOf("/")) : ".";
  await Deno.mkdir(parent || "/", { recursive: true, mode: 0o755 });
  const secret = await Deno.open(secretPath, { write: true, createNew: true, mode: 0o600 });
  try {
    await secret.write(new TextEncoder().encode(formatCert({ name, publicKey, secretKey })));
  } finally {
    secret.close();
  }
  // umask may have narrowed it further, never widened it; make it exactly 0600.
  await Deno.chmod(secretPath, 0o600);
  await Deno.writeTextFile(publicPath, formatCert({ name, publicKey }), { mode: 0o644 });
  return publicKey;
}

/**
 * Reads a secret certificate, refusing one that group or others may read. Returns both
 * keys (the public one derived from the secret, so the two cannot disagree). Synchronous,
 * so a role's `validate` can check it before anything opens.
 *
 * @example
 * ```ts
 * import { generateCert, readSecretCert } from "./cert_store.ts";
 * const dir = await Deno.makeTempDir();
 * await generateCert(`${dir}/a.key_secret`);
 * const { publicKey } = readSecretCert(`${dir}/a.key_secret`);
 * ```
 */
export function readSecretCert(path: string): { publicKey: string; secretKey: string } {
  let info: Deno.FileInfo;
  let text: string;
  try {
    info = Deno.statSync(path);
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      throw new CertError(
        `${path}: refusing a secret certificate that group/others can access: expected mode 0600, got 0${
          (info.mode & 0o777).toString(8)
        }`,
      );
    }
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof CertError) throw error;
    throw new CertError(`${path}: cannot read the secret certificate: ${(error as Error).name}`);
  }
  const secretKey = field(text, "secret-key", path);
  let publicKey: string;
  try {
    publicKey = curvePublic(secretKey);
  } catch {
    throw new CertError(`${path}: secret-key is not a valid CURVE secret key`);
  }
  return { publicKey, secretKey };
}

/**
 * Reads a public certificate (`public-key = "..."`), e.g. the server key an agent pins.
 *
 * @example
 * ```ts
 * import { generateCert, readPublicCert } from "./cert_store.ts";
 * const dir = await Deno.makeTempDir();
 * const key = await generateCert(`${dir}/s.key_secret`);
 * (await readPublicCert(`${dir}/s.key`)) === key; // true
 * ```
 */
export async function readPublicCert(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new CertError(`${path}: cannot read the certificate: ${(error as Error).name}`);
  }
  return parsePublicKey(text, path);
}

/** An allow-list directory as loaded: public key -> certificate name, and unusable files. */
export interface CertDirectory {
  keys: Map<string, string>;
  problems: { file: string; reason: string }[];
}

/**
 * Loads every `*.key` public certificate of a directory (`*.key_secret` and other files
 * are ignored; a bad certificate is reported and skipped, never fatal).
 *
 * @example
 * ```ts
 * import { loadCertDirectory } from "./cert_store.ts";
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
 * import { directorySignature } from "./cert_store.ts";
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
