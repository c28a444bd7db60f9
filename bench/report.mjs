// Assembles scripts/bench's scenario reports into bench/results/latest.json (plus a dated copy),
// latest.md (the table for the README's Performance section) and, when gnuplot is installed,
// latest.png. Issue 7: {"scenarios":[...],"ratios":{gateway_vs_direct,gateway_vs_supergateway,
// added_p50_us}} and the targets, tracked here and never asserted in tests.
//
// usage: node bench/report.mjs RESULTS_DIR META_JSON SCENARIO_JSON...
import { readFileSync, writeFileSync, renameSync, unlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const [outDir, metaFile, ...files] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
// Every scenario carries the issue's common keys; null where they do not apply (idle has no
// throughput, cancel no latency, a skipped scenario nothing).
const common = ['throughput_per_s', 'p50_us', 'p99_us', 'errors', 'rss_peak_kb'];
const scenarios = files.map((f) => {
  const s = JSON.parse(readFileSync(f, 'utf8'));
  for (const k of common) if (!(k in s)) s[k] = null;
  return s;
});
const by = Object.fromEntries(scenarios.map((s) => [s.name, s]));

const ran = (s) => s && !s.skipped && typeof s.throughput_per_s === 'number' && s.throughput_per_s > 0;
const round = (v, d = 2) => (v == null || !Number.isFinite(v) ? null : Math.round(v * 10 ** d) / 10 ** d);

const gw = by['gateway-ws'], direct = by['direct'], sg = by['supergateway'];
const gwLow = by['gateway-ws-low'], directLow = by['direct-low'];
const idle = by['idle-1000'];
const chat = by['model-chat'], chatCancel = by['model-chat-cancel'];
const hostile = by['hostile'];
const gwHttp = by['gateway-http'], sdkHttp = by['sdk-http'], idleHttp = by['idle-http-1000'];
const ratios = {
  gateway_vs_direct: ran(gw) && ran(direct) ? round(gw.throughput_per_s / direct.throughput_per_s, 3) : null,
  gateway_vs_supergateway: ran(gw) && ran(sg) ? round(gw.throughput_per_s / sg.throughput_per_s, 2) : null,
  added_p50_us: ran(gwLow) && ran(directLow) ? round(gwLow.p50_us - directLow.p50_us, 1) : null,
  http_vs_ws: ran(gwHttp) && ran(gw) ? round(gwHttp.throughput_per_s / gw.throughput_per_s, 2) : null,
  http_vs_sdk_http: ran(gwHttp) && ran(sdkHttp) ? round(gwHttp.throughput_per_s / sdkHttp.throughput_per_s, 2) : null,
  embedded_vs_direct: ran(by['gateway-embedded']) && ran(direct)
    ? round(by['gateway-embedded'].throughput_per_s / direct.throughput_per_s, 3) : null,
  // issue 14: the load's p99 beside the hostile clients against the same load alone.
  hostile_p99_vs_ws: ran(hostile) && ran(gw) ? round(hostile.p99_us / gw.p99_us, 2) : null,
};
// The hostile clients' share of the gateway: 2 x the per-session reply bound (64 MiB by default)
// for each of them (issue 14).
const hostileClients = ran(hostile) ? (hostile.hostile_readers ?? 0) + (hostile.batch_clients ?? 0) : 0;
const check = (value, ok) => ({ value, met: value == null ? null : ok(value) });
const targets = {
  gateway_ws_calls_per_s: { target: '>= 40000', ...check(ran(gw) ? gw.throughput_per_s : null, (v) => v >= 40000) },
  gateway_vs_direct: { target: '>= 0.9', ...check(ratios.gateway_vs_direct, (v) => v >= 0.9) },
  gateway_vs_supergateway: { target: '>= 3', ...check(ratios.gateway_vs_supergateway, (v) => v >= 3) },
  added_p50_us: { target: '<= 50', ...check(ratios.added_p50_us, (v) => v <= 50) },
  model_chat_errors: { target: '0', ...check(ran(chat) ? chat.errors : null, (v) => v === 0) },
  model_chat_rss_mb: {
    target: '<= 64 (gateway + daemon)',
    ...check(ran(chat) && chat.rss_peak_kb && chat.peer_rss_peak_kb
      ? round((chat.rss_peak_kb + chat.peer_rss_peak_kb) / 1024, 1) : null, (v) => v <= 64),
  },
  model_chat_cancel_close_p99_ms: {
    target: '<= 50',
    ...check(chatCancel && !chatCancel.skipped && chatCancel.close_count ? chatCancel.close_p99_ms : null,
      (v) => v <= 50 && !chatCancel.streams_finished_after_cancel && !chatCancel.streams_never_ended),
  },
  hostile_p99_vs_ws: { target: '<= 2', ...check(ratios.hostile_p99_vs_ws, (v) => v <= 2) },
  hostile_rss_mb: {
    target: `<= ${2 * 64 * hostileClients} (2 x 64 MiB per hostile client)`,
    ...check(hostileClients && hostile.rss_peak_kb ? round(hostile.rss_peak_kb / 1024, 1) : null,
      (v) => v <= 2 * 64 * hostileClients),
  },
  http_vs_ws: { target: '>= 0.6', ...check(ratios.http_vs_ws, (v) => v >= 0.6) },
  http_vs_sdk_http: { target: '>= 5', ...check(ratios.http_vs_sdk_http, (v) => v >= 5) },
  idle_http_1000_rss_mb: {
    target: '<= 48',
    ...check(idleHttp && !idleHttp.skipped && idleHttp.rss_peak_kb ? round(idleHttp.rss_peak_kb / 1024, 1) : null, (v) => v <= 48),
  },
  idle_1000_rss_mb: {
    target: '<= 32',
    ...check(idle && !idle.skipped && idle.rss_peak_kb ? round(idle.rss_peak_kb / 1024, 1) : null, (v) => v <= 32),
  },
};

// The generator's scheduling class as the scenarios report it (what applied, not what was asked).
const classes = [...new Set(scenarios.map((s) => s.generator_sched).filter(Boolean))];
const generatorSched = classes.length === 1 ? classes[0] : classes.length ? 'mixed' : null;

const result = { ...meta, generator_sched: generatorSched, scenarios, ratios, targets };
const text = JSON.stringify(result, null, 2) + '\n';
const write = (name, body) => {
  const tmp = join(outDir, name + '.tmp');
  writeFileSync(tmp, body);
  renameSync(tmp, join(outDir, name));
};
write('latest.json', text);
write(`${meta.date.replace(/[:]/g, '').replace(/\..*$/, '')}${meta.quick ? '-quick' : ''}.json`, text);

// Markdown.
const fmt = (v, d = 0) => (v == null ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const rows = scenarios.map((s) => {
  if (s.skipped) return `| ${s.name} | – | – | – | – | – | – | skipped: ${s.skipped} |`;
  const errors = s.errors ?? '–';
  const shape = s.mode === 'idle' ? `${s.connections_open ?? 0}/${s.connections} sessions held ${s.hold_s}s`
    : s.mode === 'cancel' ? `${s.cancelled} cancelled over ${s.connections} conns; in-flight after: ${s.inflight_after ?? '–'}` +
      (s.status_in_flight != null ? `, daemon: ${s.status_in_flight}` : '')
    : s.mode === 'mcp-stdio' ? `1 pipe × ${s.inflight} in flight`
    : `${s.connections} conn${s.connections === 1 ? '' : 's'} × ${s.inflight} in flight`;
  const rss = s.rss_peak_kb ? fmt(s.rss_peak_kb / 1024, 1) : '–';
  const cpu = (s.cpu_us_per_request != null ? fmt(s.cpu_us_per_request, 1) : '–') +
    (s.peer_cpu_us_per_request != null ? ` + ${fmt(s.peer_cpu_us_per_request, 1)}` : '');
  const tput = s.mode === 'idle' || s.mode === 'cancel' ? '–' : fmt(s.throughput_per_s);
  return `| ${s.name} | ${tput} | ${s.p50_us != null ? fmt(s.p50_us) : '–'} | ${s.p99_us != null ? fmt(s.p99_us) : '–'} | ${errors} | ${rss} | ${cpu} | ${shape} |`;
});
// Per-call counters (what a change in CPU per call is made of), for the scenarios that have them.
const both = (s, k, d) => (s[k] == null ? '–' : fmt(s[k], d)) + (s['peer_' + k] != null ? ` + ${fmt(s['peer_' + k], d)}` : '');
const counterRows = scenarios.filter((s) => !s.skipped && s.vcs_per_request != null).map((s) =>
  `| ${s.name} | ${both(s, 'vcs_per_request', 2)} | ${both(s, 'ivcs_per_request', 2)} | ${both(s, 'syscalls_per_request', 2)} | ${both(s, 'faults_per_request', 2)} |`);
const tgt = Object.entries(targets).map(([k, t]) =>
  `| ${k} | ${t.target} | ${t.value == null ? '–' : t.value} | ${t.met == null ? 'not measured' : t.met ? 'met' : 'missed'} |`);
const md = `# exai-bench results (${meta.quick ? 'quick' : 'full'} run)

${meta.date}, commit ${meta.commit}, ${meta.cpus} cores (${meta.cpu_model}), load average at start ${meta.loadavg}.
Loopback, diagnostics \`echo\` tool, ${meta.payload_bytes}-byte texts, ${meta.duration_s} s per scenario after ${meta.warmup_s} s warm-up.
${{ batch: 'The load generator ran in the SCHED_BATCH scheduling class (its wakeups do not preempt the processes it measures).\n',
    normal: 'The load generator ran in the normal scheduling class.\n',
    mixed: 'The load generator ran in SCHED_BATCH in some scenarios only (see each scenario\'s generator_sched).\n' }[generatorSched] ?? ''}The machine is shared: treat single runs as indicative.

| scenario | calls/s | p50 µs | p99 µs | errors | peak RSS MB | CPU µs/call (target + peer) | shape |
|---|---:|---:|---:|---:|---:|---:|---|
${rows.join('\n')}

Peak RSS and CPU are the target's, from /proc: the gateway (the daemon for \`direct\`, the echo
server for \`raw\`, supergateway's own process for \`supergateway\`); "+ peer" is the process behind
it (exai-daemon behind the gateway, the SDK echo server behind supergateway). \`sdk-http\` is the
SDK's own Streamable HTTP server (no gateway); \`idle-http-1000\` holds 1000 Streamable HTTP
sessions, each with its GET stream open.

| scenario | voluntary switches/call | involuntary switches/call | syscalls/call | minor faults/call |
|---|---:|---:|---:|---:|
${counterRows.join('\n')}

Per answered call over the measured window, target + peer: context switches summed over the
process's threads (/proc/PID/task/*/status), system calls counted by \`perf stat\` on
raw_syscalls:sys_enter (– where perf is missing or not permitted), minor page faults (/proc/PID/stat).

| ratio | value |
|---|---:|
| gateway-ws / direct (throughput) | ${ratios.gateway_vs_direct ?? '–'} |
| gateway-ws / supergateway (throughput) | ${ratios.gateway_vs_supergateway ?? '–'} |
| added p50 at 1 connection × 1 in flight (gateway-ws-low − direct-low) | ${ratios.added_p50_us == null ? '–' : ratios.added_p50_us + ' µs'} |
| gateway-http / gateway-ws (throughput) | ${ratios.http_vs_ws ?? '–'} |
| gateway-http / sdk-http (throughput) | ${ratios.http_vs_sdk_http ?? '–'} |
| hostile / gateway-ws (the load's p99) | ${ratios.hostile_p99_vs_ws ?? '–'} |

| target | goal | measured | |
|---|---|---:|---|
${tgt.join('\n')}
${meta.notes && meta.notes.length ? '\nNotes:\n' + meta.notes.map((n) => `- ${n}`).join('\n') + '\n' : ''}`;
write('latest.md', md);

// Chart: throughput per load scenario, when gnuplot is there (optional, never installed for us).
let gnuplot = null;
try {
  gnuplot = execFileSync('sh', ['-c', 'command -v gnuplot'], { encoding: 'utf8' }).trim();
} catch {}
if (gnuplot) {
  const data = scenarios.filter(ran).map((s) => `"${s.name}" ${s.throughput_per_s}`).join('\n') + '\n';
  const dat = join(outDir, 'latest.dat.tmp');
  writeFileSync(dat, data);
  const script = `set terminal pngcairo size 900,480 noenhanced
set output '${join(outDir, 'latest.png')}'
set title 'exai-bench: calls/s on loopback (${meta.date.slice(0, 10)}, ${meta.quick ? 'quick' : 'full'})'
set style fill solid 0.8
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set xtics rotate by -30
unset key
plot '${dat}' using 0:2:xtic(1) with boxes lc rgb '#3c78d8'
`;
  try {
    execFileSync(gnuplot, { input: script });
  } catch (e) {
    // pngcairo may be missing from gnuplot-nox; fall back to the png terminal.
    execFileSync(gnuplot, { input: script.replace('pngcairo', 'png') });
  }
  unlinkSync(dat);
}
process.stdout.write(md);
