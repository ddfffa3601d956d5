/**
 * The node_agent's ZAP domain for its optional client allow-list (the decision itself is
 * `allowListAuthorizer` from `@lib/zmq`).
 *
 * @module
 */

/** ZAP domain the agent's REP socket uses when an allow-list is set. */
export const ZAP_DOMAIN = "node_agent";
