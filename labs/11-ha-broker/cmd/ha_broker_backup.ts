/**
 * ha_broker_backup: the backup half of the Binary Star pair (see internal/broker_role.ts).
 *
 * @module
 */
import { runHaBroker } from "../internal/broker_role.ts";

await runHaBroker("backup");
