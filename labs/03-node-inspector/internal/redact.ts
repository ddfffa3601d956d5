/**
 * Hides secrets in command lines before `ps` sends them off the host: the value after any
 * flag whose name mentions secret, password, passwd, token or key (e.g. the agent's own
 * `--curve-secret`) becomes `***`.
 *
 * @module
 */

const SECRET_FLAG = /(--?[\w-]*(?:secret|password|passwd|token|key)[\w-]*)(=|\s+)(?!-)(\S+)/gi;

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
  return command.replace(SECRET_FLAG, (_m, flag: string, sep: string) => `${flag}${sep}***`);
}
