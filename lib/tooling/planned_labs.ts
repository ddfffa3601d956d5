/**
 * The 24 planned labs of zmq-labs, with the course's own titles and patterns (the
 * `### Lab NN: <title> (...)` headings and `**Pattern:**` lines of the course text in
 * `../shared/seed/`). The README lab table lists every one of them; a lab's manifest, once
 * it exists, overrides title, pattern, roles and status.
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
 * import { PLANNED_LABS } from "@lib/tooling/planned_labs.ts";
 *
 * PLANNED_LABS.find((lab) => lab.id === "07")?.title; // "Global Policy Synchronization"
 * ```
 */
export const PLANNED_LABS: readonly PlannedLab[] = [
  { id: "01", title: "Cluster Heartbeat Monitor", pattern: "Publish-Subscribe (PUB-SUB)" },
  { id: "02", title: "High-Volume Log Ingestion Pipeline", pattern: "Pipeline (PUSH-PULL)" },
  { id: "03", title: "Remote Node Inspector", pattern: "Request-Reply (REQ-REP)" },
  {
    id: "04",
    title: "Real-Time Telemetry Feed",
    pattern: "XPUB-XSUB (Broker) with Last Value Caching (LVC)",
  },
  { id: "05", title: "Asynchronous Audit Gateway", pattern: "Router-Dealer (ROUTER-DEALER)" },
  {
    id: "06",
    title: "Scalable Malware Scanning Cluster",
    pattern: "Load Balancing Broker (ROUTER-ROUTER)",
  },
  {
    id: "07",
    title: "Global Policy Synchronization",
    pattern: "Clone (Server-to-Client State Replication)",
  },
  { id: "08", title: "Resilient Edge Uplink", pattern: "Paranoid Pirate (Reliable Request-Reply)" },
  { id: "09", title: "Encrypted Command & Control", pattern: "Ironhouse (CurveZMQ Security)" },
  { id: "10", title: "SOC Simulation", pattern: "Mixed Architectures with Docker Compose" },
  { id: "11", title: "High-Availability Broker", pattern: "Binary Star (Primary-Backup)" },
  { id: "12", title: "Service-Oriented Broker", pattern: "Majordomo (Service Broker)" },
  { id: "13", title: "Persistent Message Queue", pattern: "Titanic (Persistent Queuing)" },
  { id: "14", title: "Distributed Hash Table Ring", pattern: "Distributed Hash Table (P2P Ring)" },
  { id: "15", title: "MapReduce Cluster", pattern: "Scatter-Gather (Parallel Pipeline)" },
  { id: "16", title: "WebSocket Bridge", pattern: "Streamer (Bridging TCP to WebSocket)" },
  { id: "17", title: "Distributed Consensus", pattern: "PUB-SUB Mesh (Gossip Consensus)" },
  { id: "18", title: "Zero-Copy Video Streaming", pattern: "Pub-Sub with Zero-Copy" },
  { id: "19", title: "Native Ironhouse", pattern: "Ironhouse (Native CurveZMQ)" },
  { id: "20", title: "Distributed Tracing System", pattern: "PUSH-PULL (Telemetry Plane)" },
  { id: "21", title: "Distributed Lock Manager", pattern: "ROUTER-DEALER (Lease Management)" },
  { id: "22", title: "High-Observability Message Broker", pattern: "Manual Proxy (Router-Dealer)" },
  { id: "23", title: "Decentralized Cluster Gossip", pattern: "Decentralized PUB-SUB" },
  { id: "24", title: "Autonomous Secure Beaconing", pattern: "UDP Discovery + REP/REQ" },
];
