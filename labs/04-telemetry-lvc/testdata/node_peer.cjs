// Interop peer for Lab 04, written against the npm zeromq.js package (plain libzmq PUB and
// SUB sockets, no lab code). Run with Node:
//   node node_peer.cjs pub <endpoint> <topic-prefix> [interval-ms] [sensors] [blob-bytes]
//   node node_peer.cjs sub <endpoint> <subscription-prefix>
// pub connects a PUB and publishes [topic, msgpack header, reading payload] rounds until
// SIGTERM; sub connects a SUB and prints every message it receives. Both print JSON lines.
"use strict";
const zmq = require("zeromq");
const { pack, unpack } = require("msgpackr");
const { randomBytes } = require("node:crypto");

const SCHEMA = "telemetry.reading.v1";
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function reading(value, blob) {
  const out = Buffer.alloc(blob.length + 12);
  out.writeDoubleBE(value, 0);
  blob.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(0, 8 + blob.length)), 8 + blob.length);
  return out;
}
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function pub(endpoint, prefix, intervalMs, sensors, blobBytes) {
  const sock = new zmq.Publisher({ linger: 0 });
  sock.connect(endpoint);
  let stop = false;
  process.on("SIGTERM", () => (stop = true));
  print({ type: "ready", zeromq: zmq.version });
  for (let seq = 1; !stop; seq++) {
    for (let i = 0; i < sensors; i++) {
      const topic = `${prefix}/sensor/${i}`;
      const value = seq * 100 + i + 0.25;
      const blob = randomBytes(blobBytes);
      blob[0] = 0; // make sure NUL and 0xff bytes travel
      blob[blob.length - 1] = 0xff;
      const header = pack({ seq, ts: Date.now(), units: "V", schema: SCHEMA, source: "zeromq.js" });
      const payload = reading(value, blob);
      await sock.send([topic, header, payload]);
      print({ type: "sent", topic, seq, value, crc: payload.readUInt32BE(payload.length - 4) });
    }
    await sleep(intervalMs);
  }
  sock.close();
}

async function sub(endpoint, prefix) {
  const sock = new zmq.Subscriber();
  sock.connect(endpoint);
  sock.subscribe(prefix);
  process.on("SIGTERM", () => sock.close());
  print({ type: "ready", zeromq: zmq.version });
  try {
    for await (const frames of sock) {
      const out = { type: "received", frames: frames.length, topic: frames[0].toString("latin1") };
      if (frames.length === 3) {
        const [, header, payload] = frames;
        try {
          out.header = unpack(header);
        } catch (error) {
          out.header_error = String(error);
        }
        out.payload_bytes = payload.length;
        if (payload.length >= 12) {
          const end = payload.length - 4;
          out.crc_ok = crc32(payload.subarray(0, end)) === payload.readUInt32BE(end);
          out.value = payload.readDoubleBE(0);
        }
      }
      print(out);
    }
  } catch (error) {
    if (!sock.closed) throw error;
  }
}

const [mode, endpoint, prefix, ...rest] = process.argv.slice(2);
if (mode === "pub" && endpoint && prefix) {
  pub(endpoint, prefix, Number(rest[0] ?? 50), Number(rest[1] ?? 3), Number(rest[2] ?? 64));
} else if (mode === "sub" && endpoint && prefix !== undefined) {
  sub(endpoint, prefix);
} else {
  process.stderr.write(
    "usage: node_peer.cjs pub|sub <endpoint> <prefix> [interval] [sensors] [blob]\n",
  );
  process.exit(2);
}
