#!/usr/bin/env node
// Runs the official MCP conformance suite (@modelcontextprotocol/conformance) against
// exai-gateway with exai-daemon (conformance tool profile) behind its pool, and prints one table:
// scenario, requirement set, pass / fail / not offered (why).
//
//   node run.mjs [--bin DIR] [--url URL | --bridge] [--set NAME]... [--scenario NAME] [--keep DIR]
//
//   (default)   start exai-daemon and exai-gateway (its own HTTP listener, /mcp on the WebSocket
//               port, the daemon behind its pool) on free loopback ports
//   --url URL   test a gateway that already serves Streamable HTTP at URL
//   --bridge    start exai-daemon and `exai-gateway --stdio` behind supergateway (stdio ->
//               Streamable HTTP, from bench/peers). A measurement aid only: the bridge answers
//               HTTP itself, so the modern era's HTTP statuses and header checks are its own.
//   --set       latest (0.1.x, handshake era), 2025-11-25 or 2026-07-28 (the 0.2.0 line's
//               requirement sets); default: all three
//
// Exit status: 0 when every offered scenario passed, 1 otherwise. The suite itself needs Node 22
// (the `node` package of this folder); this driver runs on any Node >= 20.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');

// Scenarios whose feature the gateway does not offer, with the reason (tests/interop/README.md).
export const notOffered = {
  'completion-complete': 'no completion/complete: the gateway serves tools only',
  'tools-call-sampling': 'sampling: the gateway sends clients no requests',
  'tools-call-elicitation': 'elicitation: the gateway sends clients no requests',
  'elicitation-sep1034-defaults': 'elicitation: the gateway sends clients no requests',
  'elicitation-sep1330-enums': 'elicitation: the gateway sends clients no requests',
  'resources-list': 'no resources: the daemon protocol carries tools only',
  'resources-read-text': 'no resources: the daemon protocol carries tools only',
  'resources-read-binary': 'no resources: the daemon protocol carries tools only',
  'resources-templates-read': 'no resources: the daemon protocol carries tools only',
  'resources-subscribe': 'no resources: the daemon protocol carries tools only',
  'resources-unsubscribe': 'no resources: the daemon protocol carries tools only',
  'sep-2164-resource-not-found': 'no resources: the daemon protocol carries tools only',
  'prompts-list': 'no prompts: the daemon protocol carries tools only',
  'prompts-get-simple': 'no prompts: the daemon protocol carries tools only',
  'prompts-get-with-args': 'no prompts: the daemon protocol carries tools only',
  'prompts-get-embedded-resource': 'no prompts: the daemon protocol carries tools only',
  'prompts-get-with-image': 'no prompts: the daemon protocol carries tools only',
};
for (const s of ['lifecycle', 'capability-negotiation', 'wire-fields', 'request-state-removal',
  'mrtr-input', 'request-headers', 'dispatch-and-envelope', 'status-notifications',
  'required-task-error', 'mrtr-composition']) {
  notOffered[`tasks-${s}`] = 'tasks extension (run, never scored by the suite): the gateway has no tasks/*';
}
notOffered['http-custom-header-server-validation'] =
  'pending in the suite: needs tools annotated with x-mcp-header parameters, which no exai tool has';
for (const s of ['basic-elicitation', 'basic-sampling', 'basic-list-roots', 'request-state',
  'multiple-input-requests', 'multi-round', 'missing-input-response', 'non-tool-request',
  'result-type', 'unsupported-methods', 'tampered-state', 'capability-check',
  'ignore-extra-params', 'validate-input']) {
  notOffered[`input-required-result-${s}`] = 'input-required results (MRTR): the gateway has no server-to-client input';
}

// Scenarios whose checks include features the gateway does not offer; the named checks are
// listed as not offered and the rest must pass.
export const notOfferedChecks = {
  caching: { match: /^sep-2549-(prompts|resources)-/, why: 'prompts and resources are not offered' },
  'server-stateless': {
    match: /^sep-2575-(http-server-no-independent-requests-on-stream)$/,
    why: 'the streaming-elicitation fixture needs input-required results (MRTR)',
  },
};

// Checks where a suite line itself breaks the spec, named per set, with what it does; the scenario
// must pass in the other sets.
export const suiteIssues = {
  'latest:server-sse-multiple-streams': {
    match: /^server-accepts-multiple-post-streams$/,
    why: '0.1.16 sends MCP-Protocol-Version 2025-03-26 on a 2025-11-25 session, which the spec ' +
      'answers with 400; 0.2.0 sends the negotiated version and passes',
  },
};

const sets = {
  latest: { pkg: 'conformance-latest', args: [] },
  '2025-11-25': { pkg: 'conformance-next', args: ['--requirements', '2025-11-25'] },
  '2026-07-28': { pkg: 'conformance-next', args: ['--requirements', '2026-07-28'] },
};

function parseArgs(argv) {
  const o = { bin: join(root, 'build/debug/bin'), sets: [], url: null, bridge: false };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--bin') o.bin = resolve(argv[++i]);
    else if (a === '--url') o.url = argv[++i];
    else if (a === '--bridge') o.bridge = true;
    else if (a === '--set') o.sets.push(argv[++i]);
    else if (a === '--scenario') o.scenario = argv[++i];
    else if (a === '--keep') o.keep = resolve(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.sets.length === 0) o.sets = Object.keys(sets);
  for (const s of o.sets) if (!sets[s]) throw new Error(`unknown set ${s}`);
  return o;
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
    s.on('error', rej);
  });
}

async function waitFor(check, what, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// exai-daemon with the conformance profile (no token: loopback only, for this run).
async function startDaemon(bin, work) {
  const ready = join(work, 'daemon-ready.json');
  rmSync(ready, { force: true });
  const daemon = spawn(join(bin, 'exai-daemon'),
    ['--listen', '127.0.0.1:0', '--ready-file', ready, '--tools', 'conformance', '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, EXAI_WS_TOKEN: '' } });
  await waitFor(() => existsSync(ready), 'exai-daemon');
  return { daemon, ws: JSON.parse(readFileSync(ready, 'utf8')).ws };
}

// The gateway's own listener: Streamable HTTP at /mcp on its WebSocket port.
async function startGateway(bin, work) {
  const { daemon, ws } = await startDaemon(bin, work);
  const ready = join(work, 'gateway-ready.json');
  rmSync(ready, { force: true });
  const gateway = spawn(join(bin, 'exai-gateway'),
    ['--listen', '127.0.0.1:0', '--ready-file', ready, '--upstream', `ws://${ws}`, '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, EXAI_WS_TOKEN: '', EXAI_GATEWAY_TOKEN: '' } });
  await waitFor(() => existsSync(ready), 'exai-gateway');
  const addr = JSON.parse(readFileSync(ready, 'utf8')).ws;
  return { url: `http://${addr}/mcp`, stop: () => { gateway.kill('SIGTERM'); daemon.kill('SIGTERM'); } };
}

// supergateway in front of `exai-gateway --stdio` (a measurement aid, see the head comment).
async function startBridge(bin, work) {
  const { daemon, ws } = await startDaemon(bin, work);
  const port = await freePort();
  const sg = join(root, 'bench/peers/node_modules/supergateway/dist/index.js');
  const gw = `${join(bin, 'exai-gateway')} --stdio --upstream ws://${ws} --log-level warn`;
  const bridge = spawn(process.execPath, [sg, '--stdio', gw, '--outputTransport', 'streamableHttp',
    '--stateful', '--port', String(port), '--logLevel', 'none'],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, EXAI_WS_TOKEN: '' } });
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitFor(async () => {
    try { await fetch(url, { method: 'GET' }); return true; } catch { return false; }
  }, 'supergateway');
  return { url, stop: () => { bridge.kill('SIGTERM'); daemon.kill('SIGTERM'); } };
}

function runSuite(set, url, outDir, scenario) {
  const { pkg } = sets[set];
  // One scenario: the requirement set cannot be combined with --scenario; its wire version can.
  const args = scenario && sets[set].args.length ? ['--spec-version', set] : sets[set].args;
  const node = join(here, 'node_modules/.bin/node');
  const cli = join(here, 'node_modules', pkg, 'dist/index.js');
  const argv = [cli, 'server', '--url', url, ...args, '-o', outDir];
  if (scenario) argv.push('--scenario', scenario);
  return new Promise((res) => {
    const p = spawn(node, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', (code) => res({ code, out }));
  });
}

// checks.json files under outDir: one per scenario, an array of {id, status, errorMessage}.
function collect(outDir) {
  const results = {};
  const walk = (dir) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e === 'checks.json') {
        // <dir>/server-<scenario>-<ISO time with dashes>/checks.json
        const scenario = dirname(p).split('/').pop().replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\dZ-]+$/, '');
        results[scenario] = JSON.parse(readFileSync(p, 'utf8'));
      }
    }
  };
  if (existsSync(outDir)) walk(outDir);
  return results;
}

export function verdict(scenario, checks, set) {
  if (notOffered[scenario]) return { status: 'not offered', why: notOffered[scenario] };
  const partial = notOfferedChecks[scenario];
  const suite = suiteIssues[`${set}:${scenario}`];
  const failedAll = checks.filter((c) => c.status === 'FAILURE' && !(partial && partial.match.test(c.id)));
  const failed = failedAll.filter((c) => !(suite && suite.match.test(c.id)));
  if (!failed.length && failedAll.length) return { status: 'suite issue', why: suite.why };
  const warned = checks.filter((c) => c.status === 'WARNING');
  if (failed.length) {
    return { status: 'FAIL', why: failed.map((c) => `${c.id}: ${c.errorMessage ?? ''}`.slice(0, 160)).join('; ') };
  }
  const why = partial && checks.some((c) => partial.match.test(c.id)) ? `(${partial.why}: those checks not offered)` : '';
  return { status: 'pass', why: [why, warned.length ? `${warned.length} warning(s)` : ''].filter(Boolean).join(' ') };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  for (const need of ['node_modules/.bin/node', 'node_modules/conformance-latest', 'node_modules/conformance-next']) {
    if (!existsSync(join(here, need))) {
      console.error(`conformance: ${need} is missing in ${here}; run scripts/setup`);
      process.exit(1);
    }
  }
  const work = o.keep ?? mkdtempSync(join(tmpdir(), "exai-conformance-"));
  mkdirSync(work, { recursive: true });
  let bridge = null;
  let url = o.url;
  if (!url) { bridge = await (o.bridge ? startBridge : startGateway)(o.bin, work); url = bridge.url; }
  let failures = 0;
  const rows = [];
  try {
    for (const set of o.sets) {
      const outDir = join(work, set);
      rmSync(outDir, { recursive: true, force: true });
      const r = await runSuite(set, url, outDir, o.scenario);
      const byDir = collect(outDir);
      for (const [scenario, checks] of Object.entries(byDir)) {
        const v = verdict(scenario, checks, set);
        if (v.status === 'FAIL') ++failures;
        rows.push({ scenario, set, ...v });
      }
      if (Object.keys(byDir).length === 0) {
        ++failures;
        rows.push({ scenario: '(suite)', set, status: 'FAIL', why: r.out.trim().split('\n').slice(-5).join(' / ') });
      }
    }
  } finally {
    bridge?.stop();
  }
  // Results are kept when asked for (--keep) or when something failed, to be read.
  if (!o.keep && failures === 0) rmSync(work, { recursive: true, force: true });
  rows.sort((a, b) => a.scenario.localeCompare(b.scenario) || a.set.localeCompare(b.set));
  console.log('| scenario | set | result | note |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.scenario} | ${r.set} | ${r.status} | ${r.why ?? ''} |`);
  console.log(`\n${rows.filter((r) => r.status === 'pass').length} pass, ${failures} fail, ` +
    `${rows.filter((r) => r.status === 'not offered').length} not offered` +
    (o.keep || failures ? ` (results in ${work})` : ''));
  process.exit(failures ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e.stack ?? String(e)); process.exit(2); });
}
