/**
 * log_collector — the ventilator: reads log lines (files, directories with --follow,
 * stdin, or --generate N), cuts them into numbered batches (by lines and by bytes) and
 * sends each to a parser that has credit. At most --window batches are unacknowledged at
 * once (backpressure: reading stops while the window is full); batches not acknowledged
 * by the sink within --ack-timeout are re-sent. SIGTERM stops reading and waits for
 * every batch to be acknowledged (within the --shutdown-timeout drain budget).
 *
 * @module
 */
import { runRole } from "@lib/role/mod.ts";
import {
  type CollectorRoleOptions,
  configureCollector,
  runCollector,
  validateCollector,
} from "../internal/collector_role.ts";

await runRole<CollectorRoleOptions>({
  name: "log_collector",
  summary: "Ventilator: batches log lines to the parsers, re-sends until the sink acks",
  configure: configureCollector,
  validate: validateCollector,
  run: runCollector,
});
