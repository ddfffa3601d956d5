/**
 * The 24 planned labs of zmq-labs. The README lab table lists every one of them; a lab's
 * manifest, once it exists, overrides title, pattern, roles and status.
 *
 * @module
 */

/** A lab that is planned (it may or may not have a manifest yet). */
export interface PlannedLab {
  id: string;
  title: string;
  pattern: string;
}

/**
 * Every planned lab, by id.
 *
 * @example
 * ```ts
 * PLANNED_LABS.find((lab) => lab.id === "05")?.pattern; // "ROUTER-DEALER"
 * ```
 */
export const PLANNED_LABS: readonly PlannedLab[] = [
  { id: "01", title: "Cluster Heartbeat Monitor", pattern: "PUB-SUB" },
  { id: "02", title: "High-Volume Log Ingestion Pipeline", pattern: "PUSH-PULL" },
  { id: "03", title: "Remote Node Inspector", pattern: "REQ-REP" },
  { id: "04", title: "Real-Time Telemetry Feed", pattern: "XPUB-XSUB + Last Value Cache" },
  { id: "05", title: "Asynchronous Audit Gateway", pattern: "ROUTER-DEALER" },
  { id: "06", title: "Scalable Malware Scanning Cluster", pattern: "LRU load-balancing broker" },
  { id: "07", title: "Clone", pattern: "Clone (CHP)" },
  { id: "08", title: "Paranoid Pirate", pattern: "Paranoid Pirate" },
  { id: "09", title: "Ironhouse", pattern: "CurveZMQ + ZAP" },
  { id: "10", title: "Docker-compose SOC", pattern: "Docker-compose SOC" },
  { id: "11", title: "Binary Star", pattern: "Binary Star" },
  { id: "12", title: "Majordomo", pattern: "Majordomo (MDP)" },
  { id: "13", title: "Titanic", pattern: "Titanic (TSP)" },
  { id: "14", title: "DHT ring", pattern: "DHT ring" },
  { id: "15", title: "MapReduce", pattern: "MapReduce" },
  { id: "16", title: "WebSocket bridge", pattern: "WebSocket bridge" },
  { id: "17", title: "Raft", pattern: "Raft" },
  { id: "18", title: "Zero-copy 4K video", pattern: "Zero-copy 4K video" },
  { id: "19", title: "Distributed tracing", pattern: "Distributed tracing (CURVE)" },
  { id: "20", title: "Lock manager", pattern: "Lock manager" },
  { id: "21", title: "Gossip", pattern: "Gossip" },
  { id: "22", title: "SIEM pipeline", pattern: "SIEM pipeline" },
  { id: "23", title: "Service discovery", pattern: "Service discovery" },
  { id: "24", title: "UDP beacons", pattern: "UDP beacons (ZRE)" },
];
