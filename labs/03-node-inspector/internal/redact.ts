/**
 * Hides secrets in command lines before `ps` sends them off the host: the value after any
 * flag whose name mentions secret, password, passwd, token or key (e.g. the agent's own
 * `--curve-secret`) becomes `***`.
 *
 * @module
 */

const SECRET_FLAG = /(--?[\w-]*(?:secret|password|passwd|token|key)[\w-]*)(=|\s+)(\S+)/gi;
/** A token that reads as the next flag (`--verbose`, `-v`), not as a value. */
const FLAG_LIKE = /^--?[a-z][\w-]*$/i;
/** CURVE keys in Z85 are 40 characters, and may start with `-` (it is in the alphabet). */
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/**
 * Returns `command` with the values of secret-looking flags replaced by `***`.
 *
 * @example
 * ```ts
 * redactSecrets("node_agent --curve-secret abc --bind tcp://x");
 * // "node_agent --curve-secret *** --bind tcp://x"
 * ```
 */
export function redactSecrets(command: string): string {
  return command.replace(
    SECRET_FLAG,
    (match, flag: string, sep: string, value: string) =>
      sep !== "=" && FLAG_LIKE.test(value) && !Z85_KEY.test(value) ? match : `${flag}${sep}***`,
  );
}
