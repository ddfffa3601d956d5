/**
 * log_parser — the worker: asks the collector for batches with credit (at most --window
 * held at once), parses every line (RFC 5424, RFC 3164, combined access log, JSON lines)
 * into the ECS-style schema, pseudonymises addresses and user names with a keyed HMAC,
 * redacts emails, card numbers and secrets, and PUSHes records plus dead letters to the
 * storage writer. Stateless: run as many as you like; a killed or hung parser's batches
 * are re-sent by the collector.
 *
 * @module
 */
import { runRole } from "@lib/role/mod.ts";
import {
  configureParser,
  type ParserRoleOptions,
  runParser,
  validateParser,
} from "../internal/parser_role.ts";

await runRole<ParserRoleOptions>({
  name: "log_parser",
  summary: "Worker: parses, normalises and anonymises log batches",
  configure: configureParser,
  validate: validateParser,
  run: runParser,
});
