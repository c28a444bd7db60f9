// Close latency of cancelled provider streams (scripts/bench, model-chat-cancel).
// Usage: node bench/cancel_close.mjs SCENARIO.json FAKE-RECORD.jsonl
// The scenario's `cancels_start_mono_us` is when exai-bench began sending its cancels; the fake
// provider records `client_closed` with the time each stream it was still writing was closed, on
// the same system-wide monotonic clock. Each latency is measured from the start of the cancel
// burst, so it includes the time the burst itself took to send (a bound from above). The figures
// are written back into the scenario file (close_*) and one summary line goes to stdout.
import { readFileSync, writeFileSync } from 'node:fs';

const [scenarioPath, recordPath] = process.argv.slice(2);
const s = JSON.parse(readFileSync(scenarioPath, 'utf8'));
const start = s.cancels_start_mono_us;
const lat = [];
// Streams open at the start of the burst: requests the fake received before it, less the ones
// already answered or closed by then. Streams that still ran to the end after it are failures.
const open = new Set();
let finishedAfter = 0;
let text = '';
try { text = readFileSync(recordPath, 'utf8'); } catch { /* no record: nothing closed */ }
for (const line of text.split('\n')) {
  if (!line) continue;
  let r;
  try { r = JSON.parse(line); } catch { continue; }
  if (typeof start === 'number' && typeof r.mono_us === 'number' && r.mono_us < start) {
    if (r.event === 'request') open.add(r.seq);
    if (r.event === 'response_done' || r.event === 'client_closed') open.delete(r.request);
  }
  if (r.event === 'response_done' && typeof start === 'number' && r.mono_us >= start && r.chunks_sent) ++finishedAfter;
  if (r.event === 'client_closed' && r.complete === false && typeof r.mono_us === 'number' &&
      typeof start === 'number' && r.mono_us >= start) lat.push((r.mono_us - start) / 1000);
}
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] : null);
const r1 = (v) => (v == null ? null : Math.round(v * 10) / 10);
s.close_count = lat.length;
s.streams_open_at_cancel = open.size;
s.streams_finished_after_cancel = finishedAfter;
s.close_p50_ms = r1(pct(50));
s.close_p99_ms = r1(pct(99));
s.close_max_ms = r1(lat.length ? lat[lat.length - 1] : null);
writeFileSync(scenarioPath, JSON.stringify(s, null, 2) + '\n');
console.log(`model-chat-cancel: ${s.cancelled ?? '?'} calls cancelled, ${open.size} of them streaming at the ` +
  `cancel; ${lat.length} provider streams closed mid-answer and ${finishedAfter} ran to the end; from the start of the cancel burst p50 ${s.close_p50_ms} ms, p99 ${s.close_p99_ms} ms, ` +
  `max ${s.close_max_ms} ms (the burst took ${s.send_cancels_ms} ms to send)`);
