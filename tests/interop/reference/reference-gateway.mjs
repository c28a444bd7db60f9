#!/usr/bin/env node
// A stand-in for exai-gateway built from the official SDK's Server class, implementing the flags and
// tools of design.md "Interface contract" and the op dialect of exai-op-protocol.md section 5.
// It exists only to prove the interop tests themselves: run the suite with
// EXAI_GATEWAY_BIN=tests/interop/reference/reference-gateway.mjs and every test must pass.
import { createServer } from 'node:http';
import { writeFileSync, renameSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  ListToolsRequestSchema, CallToolRequestSchema, McpError, ErrorCode,
} from '@modelcontextprotocol/sdk/types.js';

const argv = process.argv.slice(2);
const opts = { stdio: false, listen: null, readyFile: null, tools: ['core'], callTimeoutMs: 300000 };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--stdio') opts.stdio = true;
  else if (a === '--listen') opts.listen = argv[++i];
  else if (a === '--ready-file') opts.readyFile = argv[++i];
  else if (a === '--tools') opts.tools = argv[++i].split(',');
  else if (a === '--call-timeout-ms') opts.callTimeoutMs = Number(argv[++i]);
  else if (a === '--log-level') i++;
  else { process.stderr.write(`reference-gateway: unknown flag ${a}\n`); process.exit(2); }
}

const client_token = process.env.EXAI_GATEWAY_TOKEN ?? '';

const obj = (properties, required = []) => ({ type: 'object', properties, required });
const tools = [
  { name: 'status', description: 'Gateway status', inputSchema: obj({}) },
  { name: 'version', description: 'Version', inputSchema: obj({}) },
  { name: 'listmodels', description: 'Models', inputSchema: obj({}) },
];
if (opts.tools.includes('diagnostics')) {
  tools.push(
    { name: 'echo', description: 'Returns the text', inputSchema: obj({ text: { type: 'string' } }, ['text']) },
    { name: 'delay', description: 'Waits', inputSchema: obj({ ms: { type: 'integer' }, progress_every_ms: { type: 'integer' } }, ['ms']) },
    { name: 'fail', description: 'Fails', inputSchema: obj({ message: { type: 'string' } }) },
    { name: 'blob', description: 'A text of N bytes', inputSchema: obj({ bytes: { type: 'integer' } }, ['bytes']) },
  );
}

const text = (t, isError = false) => ({ content: [{ type: 'text', text: t }], ...(isError ? { isError: true } : {}) });

// Runs a tool; `progress(n, total)` reports progress, `signal` aborts.
function run_tool(name, args, signal, progress) {
  switch (name) {
    case 'status': return Promise.resolve(text('{"status":"ok"}'));
    case 'version': return Promise.resolve(text('reference-gateway 0.0.0'));
    case 'listmodels': return Promise.resolve(text('[]'));
    case 'echo': return Promise.resolve(text(String(args.text ?? '')));
    case 'fail': return Promise.resolve(text(String(args.message ?? 'failed'), true));
    case 'blob': return Promise.resolve(text('x'.repeat(Number(args.bytes ?? 0))));
    case 'delay': return new Promise((resolve, reject) => {
      const ms = Number(args.ms ?? 0);
      const every = Number(args.progress_every_ms ?? 0);
      let n = 0;
      const tick = every > 0 ? setInterval(() => progress(++n, Math.ceil(ms / every)), every) : null;
      const done = setTimeout(() => { if (tick) clearInterval(tick); resolve(text(`waited ${ms} ms`)); }, ms);
      signal.addEventListener('abort', () => { clearTimeout(done); if (tick) clearInterval(tick); reject(new Error('cancelled')); });
    });
    default: return null;
  }
}

// Applies the call deadline: on expiry the result is a tool error naming the tool and the budget.
async function call_with_deadline(name, args, signal, progress) {
  const inner = new AbortController();
  signal.addEventListener('abort', () => inner.abort());
  const work = run_tool(name, args, inner.signal, progress);
  if (work === null) return null;
  work.catch(() => {}); // a rejection after the deadline won is expected
  let timer;
  const deadline = new Promise(resolve => {
    timer = setTimeout(() => { resolve(text(`tool ${name} timed out after ${opts.callTimeoutMs} ms`, true)); inner.abort(); }, opts.callTimeoutMs);
  });
  try { return await Promise.race([work, deadline]); } finally { clearTimeout(timer); }
}

function make_mcp_server() {
  const server = new Server({ name: 'exai-gateway', version: '0.0.0-reference' }, { capabilities: { tools: { listChanged: true } } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const token = req.params._meta?.progressToken;
    const progress = (n, total) => {
      if (token === undefined || extra.signal.aborted) return;
      extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: n, total } }).catch(() => {});
    };
    const res = await call_with_deadline(req.params.name, req.params.arguments ?? {}, extra.signal, progress);
    if (res === null) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${req.params.name}`);
    return res;
  });
  return server;
}

// One WebSocket connection as an SDK server transport.
class ws_server_transport {
  constructor(ws) { this.ws_ = ws; }
  async start() {}
  deliver(msg) { this.onmessage?.(msg); }
  async send(msg) { this.ws_.send(JSON.stringify(msg)); }
  async close() { this.ws_.close(); }
}

// Op dialect (exai-op-protocol.md section 5): every reply carries op and request_id.
async function handle_op(ws, msg, running, state) {
  const rid = msg.request_id;
  const reply = o => ws.send(JSON.stringify(o));
  if (client_token && !state.authed && msg.op !== 'hello') {
    reply({ op: 'hello_ack', ok: false, error: 'missing_hello' });
    return ws.close(4001);
  }
  switch (msg.op) {
    case 'hello':
      if (client_token && msg.token !== client_token) { reply({ op: 'hello_ack', ok: false, error: 'unauthorized' }); return ws.close(4003); }
      state.authed = true;
      return reply({ op: 'hello_ack', ok: true, session_id: msg.session_id ?? 'ref-session' });
    case 'ping': return reply({ op: 'pong', request_id: rid });
    case 'list_tools': return reply({ op: 'list_tools_res', request_id: rid, tools, timestamp: Date.now() / 1000 });
    case 'cancel': running.get(rid)?.abort(); running.delete(rid); return reply({ op: 'cancelled', request_id: rid });
    case 'call_tool': case 'tool_call': {
      const name = msg.op === 'call_tool' ? msg.name : msg.tool?.name;
      const ac = new AbortController();
      running.set(rid, ac);
      try {
        const res = await call_with_deadline(name, msg.arguments ?? {}, ac.signal,
          (n, total) => reply({ op: 'progress', request_id: rid, progress: n, total, message: 'working' }));
        if (res === null) return reply({ op: 'call_tool_res', request_id: rid, error: { code: 'TOOL_NOT_FOUND', message: `Tool not found: ${name}` } });
        return reply({ op: 'call_tool_res', request_id: rid, outputs: res.content, ...(res.isError ? { is_error: true } : {}) });
      } catch (e) {
        if (!ac.signal.aborted) reply({ op: 'call_tool_res', request_id: rid, error: { code: 'TOOL_EXECUTION_ERROR', message: String(e) } });
      } finally { running.delete(rid); }
      return;
    }
    default: return reply({ op: 'error', request_id: rid, error: { code: 'INVALID_REQUEST', message: `unknown op ${msg.op}` } });
  }
}

if (opts.stdio) {
  await make_mcp_server().connect(new StdioServerTransport());
  process.stdin.on('end', () => process.exit(0));
}

if (opts.listen) {
  const [host, port] = [opts.listen.slice(0, opts.listen.lastIndexOf(':')), Number(opts.listen.slice(opts.listen.lastIndexOf(':') + 1))];
  const http = createServer((req, res) => { res.writeHead(426); res.end(); });
  const wss = new WebSocketServer({
    server: http,
    handleProtocols: protos => (protos.has('mcp') ? 'mcp' : false),
    // MCP clients authenticate on the upgrade; op clients (no "mcp" subprotocol) in their hello.
    verifyClient: ({ req }) => !client_token || !String(req.headers['sec-websocket-protocol'] ?? '').includes('mcp')
      || req.headers.authorization === `Bearer ${client_token}`,
  });
  wss.on('connection', ws => {
    let transport = null;
    const running = new Map();
    const state = { authed: false };
    ws.on('message', data => {
      let msg;
      try { msg = JSON.parse(String(data)); } catch { ws.send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } })); return; }
      if (msg && msg.jsonrpc === '2.0') {
        if (!transport) { transport = new ws_server_transport(ws); make_mcp_server().connect(transport); }
        transport.deliver(msg);
      } else if (msg && typeof msg.op === 'string') {
        handle_op(ws, msg, running, state);
      } else {
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } }));
      }
    });
    ws.on('close', () => { for (const ac of running.values()) ac.abort(); });
  });
  http.listen(port, host, () => {
    const addr = http.address();
    if (opts.readyFile) {
      writeFileSync(opts.readyFile + '.tmp', JSON.stringify({ ws: `${addr.address}:${addr.port}` }));
      renameSync(opts.readyFile + '.tmp', opts.readyFile);
    }
  });
}
