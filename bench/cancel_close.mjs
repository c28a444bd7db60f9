// Close latency of cancelled provider streams (scripts/bench, model-chat-cancel).
// Usage: node bench/cancel_close.mjs SCENARIO.json FAKE-RECORD.jsonl [SETTLE-SECONDS]
// The scenario's `cancels_start_mono_us` is when exai-bench began sending its cancels; the fake
// provider records `client_closed` with the time each stream it was still writing was closed, on
// the same system-wide monotonic clock. Each latency is measured from the start of the cancel
// burst, so it includes the time the burst itself took to send (a bound from above).
// exai-bench ends its scenario about a second after the burst, which may be before the provider
// saw every close: the record is read again until every stream the fake began has ended (closed
// or answered to the end) or SETTLE-SECONDS (default 20) have passed, so a late close is counted
// as late instead of not at all. Streams the fake began only after the burst started (calls that
// reached the provider after their cancel was sent) are counted apart and included in the
// latencies when they were closed. The figures are written back into the scenario file (close_*)
// and one summary line goes to stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [scenarioPath, recordPath, settleArg] = process.argv.slice(2);
const settleMs = 1000 * (settleArg === undefined ? 20 : Number(settleArg));
const s = JSON.parse(readFileSync(scenarioPath, 'utf8'));
const start = s.cancels_start_mono_us;

function tally() {
  const t = { open: new Set(), began: new Set(), ended: new Set(), startedAfter: 0, finishedAfter: 0, lat: [] };
  let text = '';
  try { text = readFileSync(recordPath, 'utf8'); } catch { /* no record: nothing closed */ }
  for (const line of text.split('\n')) {
    if (!line) continue;
    let r;
    try { r = JSON.parse(line); } catch { continue; }  // a line still being written
    if (r.event === 'request') t.began.add(r.seq);
    if (r.event === 'response_done' || r.event === 'client_closed' || r.event === 'server_closed') t.ended.add(r.request);
    if (typeof start !== 'number' || typeof r.mono_us !== 'number') continue;
    if (r.mono_us < start) {
      // Streams open at the start of the burst: requests received before it, less the ones
      // answered or closed by then.
      if (r.event === 'request') t.open.add(r.seq);
      if (r.event === 'response_done' || r.event === 'client_closed') t.open.delete(r.request);
      continue;
    }
    if (r.event === 'request') ++t.startedAfter;
    // A stream answered to its end after the burst: its cancel did not stop it (a failure).
    if (r.event === 'response_done' && r.chunks_sent) ++t.finishedAfter;
    if (r.event === 'client_closed' && r.complete === false) t.lat.push((r.mono_us - start) / 1000);
  }
  t.unended = [...t.began].filter((q) => !t.ended.has(q)).length;
  return t;
}

let t = tally();
const waitStart = Date.now();
while (t.unended > 0 && Date.now() - waitStart < settleMs) {
  await sleep(200);
  t = tally();
}
const lat = t.lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] : null);
const r1 = (v) => (v == null ? null : Math.round(v * 10) / 10);
s.close_count = lat.length;
s.streams_open_at_cancel = t.open.size;
s.streams_started_after_cancel = t.startedAfter;
s.streams_finished_after_cancel = t.finishedAfter;
s.streams_never_ended = t.unended;
s.close_p50_ms = r1(pct(50));
s.close_p99_ms = r1(pct(99));
s.close_max_ms = r1(lat.length ? lat[lat.length - 1] : null);
writeFileSync(scenarioPath, JSON.stringify(s, null, 2) + '\n');
console.log(`model-chat-cancel: ${s.cancelled ?? '?'} calls cancelled, ${t.open.size} of them streaming at the ` +
  `cancel and ${t.startedAfter} reaching the provider only after it; ${lat.length} provider streams closed ` +
  `mid-answer, ${t.finishedAfter} ran to the end` +
  (t.unended ? `, ${t.unended} still open ${Math.round(settleMs / 1000)} s later` : '') +
  `; from the start of the cancel burst p50 ${s.close_p50_ms} ms, p99 ${s.close_p99_ms} ms, ` +
  `max ${s.close_max_ms} ms (the burst took ${s.send_cancels_ms} ms to send)`);
