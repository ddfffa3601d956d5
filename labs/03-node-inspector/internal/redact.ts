/**
 * Hides credentials in command lines before `ps` sends them off the host. It errs toward
 * hiding: a value that only looks like a credential (`mkdir -p /x` hides `/x`) is hidden too.
 * Covered forms, each value becoming `***`:
 *
 * - flags named like pass, pwd, secret, token, key, auth, credential, with `=` or a space:
 *   `--db-password=x`, `--pass x`, `--pwd x`, `--api-token x`, `--curve-secret <Z85>`;
 * - the short password flag `-p x` (mysql, sshpass);
 * - user:password pairs after `-u`, `--user`, `--proxy-user`, `-U` (`-u admin:x` keeps `admin`);
 * - URLs with a password in their userinfo anywhere in an argument
 *   (`postgres://admin:x@db` keeps `admin`);
 * - environment assignments of such names (`SECRET_ENV=x`, `DB_PASSWORD=x`).
 *
 * With the argument vector ({@linkcode redactArgv}, from `/proc/<pid>/cmdline`) the whole
 * argument after a flag is hidden, spaces included (`--password "two words"`), and an
 * argument with spaces (`sh -c "mysql -p x"`) is redacted as a command line of its own; a
 * command line that is already one string ({@linkcode redactSecrets}) is split at
 * whitespace.
 *
 * @module
 */

/** A name that says "credential": flag or variable names are matched against it. */
const SECRET_NAME = /pass|pwd|secret|token|key|auth(?!or)|credential/i;
/** `-x`, `--name` (the flag alone), capturing the name. */
const FLAG = /^--?([A-Za-z][\w.-]*)$/;
/** `--name=value` or `-name=value`. */
const FLAG_VALUE = /^(--?([A-Za-z][\w.-]*))=(.*)$/s;
/** `NAME=value` (an environment assignment, as `env` or a shell passes it). */
const ENV_ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
/** Flags whose value is `user:password`. */
const USER_FLAGS = new Set(["-u", "--user", "--proxy-user", "-U"]);
/** Short flags whose value is a password. */
const PASSWORD_SHORT_FLAGS = new Set(["-p"]);
/** `scheme://user:password@` in an argument: the password part is hidden. */
const URL_USERINFO = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/@:]*):[^/@]*@/g;
/** A token that reads as the next flag (`--verbose`, `-v`), not as a value. */
const FLAG_LIKE = /^--?[a-z][\w-]*$/i;
/** CURVE keys in Z85 are 40 characters, and may start with `-` (it is in the alphabet). */
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

const HIDDEN = "***";

/** What the argument after `flag` is, when it is a value: a secret, a user:pass, or not ours. */
function valueKind(flag: string): "secret" | "userpass" | undefined {
  if (USER_FLAGS.has(flag)) return "userpass";
  if (PASSWORD_SHORT_FLAGS.has(flag)) return "secret";
  const name = FLAG.exec(flag)?.[1];
  // A single-letter flag (`-k`, `-a`) says nothing about its value.
  if (name && name.length > 1 && SECRET_NAME.test(name)) return "secret";
  return undefined;
}

/** `user:password` → `user:***`; a value without `:` is a user name alone. */
function hideUserPass(value: string): string {
  const colon = value.indexOf(":");
  return colon < 0 ? value : `${value.slice(0, colon)}:${HIDDEN}`;
}

/** Hides what one argument carries by itself (`--x=v`, `NAME=v`, URL userinfo). */
function redactOne(arg: string): string {
  const flagValue = FLAG_VALUE.exec(arg);
  if (flagValue) {
    const [, flag, , value] = flagValue;
    const kind = valueKind(flag);
    if (kind === "secret") return `${flag}=${HIDDEN}`;
    if (kind === "userpass") return `${flag}=${hideUserPass(value)}`;
  } else {
    const env = ENV_ASSIGNMENT.exec(arg);
    if (env && SECRET_NAME.test(env[1])) return `${env[1]}=${HIDDEN}`;
  }
  return arg.replace(URL_USERINFO, `$1:${HIDDEN}@`);
}

/**
 * Returns the arguments with credentials replaced by `***`; the argument after a
 * credential flag is hidden whole (spaces included), unless it reads as the next flag.
 *
 * @example
 * ```ts
 * import { redactArgv } from "./redact.ts";
 * redactArgv(["psql", "--password", "two words", "postgres://admin:pw@db/app"]);
 * // ["psql", "--password", "***", "postgres://admin:***@db/app"]
 * ```
 */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // An argument with spaces (`sh -c "mysql -p x"`) is a command line of its own.
    out.push(
      /\s/.test(arg) ? redactSecrets(arg.replace(URL_USERINFO, `$1:${HIDDEN}@`)) : redactOne(arg),
    );
    const kind = valueKind(arg);
    const next = argv[i + 1];
    if (!kind || next === undefined || next === "") continue;
    // `--token -x`: the next flag, not a value; but a Z85 key may start with '-'.
    if (FLAG_LIKE.test(next) && !Z85_KEY.test(next)) continue;
    out.push(kind === "secret" ? HIDDEN : hideUserPass(next));
    i++;
  }
  return out;
}

/**
 * Returns `command` (one string, e.g. from `ps -o args`) with credentials replaced by
 * `***`, its spacing kept. Arguments are split at whitespace, so only the first word of a
 * value with spaces is hidden: use {@linkcode redactArgv} when the arguments are known.
 *
 * @example
 * ```ts
 * import { redactSecrets } from "./redact.ts";
 * redactSecrets("node_agent --curve-secret abc --bind tcp://x");
 * // "node_agent --curve-secret *** --bind tcp://x"
 * ```
 */
export function redactSecrets(command: string): string {
  const parts = command.split(/(\s+)/);
  const words = parts.filter((_, i) => i % 2 === 0);
  const hidden = redactArgv(words);
  return parts.map((part, i) => (i % 2 === 0 ? hidden[i / 2] : part)).join("");
}
