// ws_peer.mjs - the Node peer of ./run bench's web part.
//
//   node ws_peer.mjs --port P --frames FILE [--rate 10] [--no-restamp]
//                    [--max-buffered BYTES]
//
// A `ws` WebSocket server on 127.0.0.1:P (path /ws) that does the least a
// Node-based dashboard (Node-RED's, FUXA's) could do per client: it sends
// frames already encoded, the same Buffer to every client.  FILE holds
// real frames recorded from the bridge by lb-ws-load --record, one per
// line: the first (the snapshot) goes to each new client, the deltas are
// broadcast round-robin at --rate frames a second on a drift-free
// schedule, to every open client.
//
// Nothing is re-encoded.  With restamping on (the default), the frame's
// "time" and every tag's "ts" are overwritten in place, once per tick
// (not per client), with the tick's wall time: they are fixed-width
// (24 bytes), so the offsets are found once at start.  That lets the load
// client measure this server's delivery latency (tick -> receipt); it is
// NOT the bridge's tag latency, which starts at the Modbus response and
// includes the wait for the next tick.  The comparable figure for both
// is the delivery latency from the frame's "time".
//
// Like the bridge, which never queues more than one frame per client and
// holds each kernel send buffer to 256 KiB, a client whose unsent bytes
// (ws bufferedAmount) exceed --max-buffered (default 256 KiB) is skipped
// for that tick and the skip is counted; without that, a Node server
// buffers a slow client's backlog without bound.
//
// On SIGTERM/SIGINT it prints one JSON object (ticks, frames sent,
// skipped, late ticks) on stdout and exits.
import { readFileSync } from "node:fs";
import { WebSocketServer, WebSocket } from "ws";

function parseArgs(argv) {
  const o = { port: 0, frames: "", rate: 10, restamp: true,
              maxBuffered: 256 * 1024 };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    if (k === "--no-restamp") { o.restamp = false; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} needs a value`);
    const num = () => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`bad ${k} ${v}`);
      return n;
    };
    if (k === "--port") o.port = num();
    else if (k === "--frames") o.frames = v;
    else if (k === "--rate") o.rate = num();
    else if (k === "--max-buffered") o.maxBuffered = num();
    else throw new Error(`unknown option ${k}`);
  }
  if (!o.port || !o.frames) throw new Error("--port and --frames are required");
  return o;
}

// Offsets of the 24-byte values after "time":" and "ts":" in buf.
function stampOffsets(buf) {
  const out = [];
  for (const key of ['"time":"', '"ts":"']) {
    const k = Buffer.from(key);
    for (let i = buf.indexOf(k); i >= 0; i = buf.indexOf(k, i + 1)) {
      const at = i + k.length;
      if (at + 24 <= buf.length && buf[at + 23] === 0x5a /* Z */)
        out.push(at);
    }
  }
  return Uint32Array.from(out);
}

const o = parseArgs(process.argv);
const lines = readFileSync(o.frames, "latin1").split("\n").filter((l) => l);
const snapshot = lines.find((l) => l.startsWith('{"type":"snapshot"'));
const deltas = lines.filter((l) => l.startsWith('{"type":"delta"'))
  .map((l) => Buffer.from(l, "latin1"));
if (!snapshot || deltas.length === 0) {
  console.error(`ws_peer: ${o.frames} has no snapshot or no delta frames`);
  process.exit(2);
}
const snapBuf = Buffer.from(snapshot, "latin1");
const offsets = deltas.map(stampOffsets);
const stats = { frames_recorded: deltas.length, ticks: 0, sent: 0,
                skipped: 0, late_ticks: 0, max_late_ms: 0,
                connections: 0, restamp: o.restamp };

const wss = new WebSocketServer({ host: "127.0.0.1", port: o.port,
                                  path: "/ws", perMessageDeflate: false,
                                  clientTracking: true });
wss.on("connection", (ws) => {
  stats.connections++;
  ws.on("error", () => {});
  ws.send(snapBuf, { binary: false });
});
wss.on("listening", () => console.error(`ws_peer: listening on ${o.port}`));

const period = 1000 / o.rate;
let next = performance.now() + period;
let idx = 0;
function tick() {
  const now = performance.now();
  const late = now - next;
  if (late > 5) stats.late_ticks++;
  if (late > stats.max_late_ms) stats.max_late_ms = late;
  const frame = deltas[idx];
  if (o.restamp && wss.clients.size) {
    const stamp = Buffer.from(new Date().toISOString(), "latin1");
    const offs = offsets[idx];
    for (let i = 0; i < offs.length; i++) stamp.copy(frame, offs[i]);
  }
  idx = (idx + 1) % deltas.length;
  stats.ticks++;
  for (const ws of wss.clients) {
    if (ws.readyState !== WebSocket.OPEN) continue;
    if (ws.bufferedAmount > o.maxBuffered) { stats.skipped++; continue; }
    ws.send(frame, { binary: false });
    stats.sent++;
  }
  // Drift-free: the next deadline is one period after this one, not
  // after now; a tick that is more than a period late is not made up.
  next += period;
  const after = performance.now();
  if (next < after) next = after;
  setTimeout(tick, next - after);
}
setTimeout(tick, period);

function finish() {
  process.stdout.write(JSON.stringify(stats) + "\n");
  process.exit(0);
}
process.on("SIGTERM", finish);
process.on("SIGINT", finish);
