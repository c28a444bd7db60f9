// The official TypeScript SDK client (@modelcontextprotocol/sdk, StdioClientTransport) spawning
// `exai-gateway --stdio` — the way Claude Code runs it (issue 4, Tests).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { gateway_bin, gateway_env, watchdog, with_timeout } from '../lib/harness.mjs';
import * as s from '../lib/mcp_scenarios.mjs';

watchdog(50000);

function stdio_transport(extra = []) {
  const t = new StdioClientTransport({
    command: gateway_bin(),
    // Debug logging on: stdout must still carry nothing but MCP messages.
    args: ['--stdio', '--tools', 'core,diagnostics', '--log-level', 'debug', ...extra],
    env: gateway_env(),
    stderr: 'pipe',
  });
  let err = '';
  t.stderr?.on('data', d => { err += d; if (err.length > 1 << 20) err = err.slice(-(1 << 19)); });
  return { t, stderr: () => err };
}

describe('sdk over stdio', { timeout: 40000 }, () => {
  let ctx, io;
  before(async () => {
    io = stdio_transport();
    ctx = await s.connect_client(io.t, 'interop-sdk-stdio');
  });
  after(async () => {
    await with_timeout(ctx?.client.close() ?? Promise.resolve(), 5000, 'client close').catch(() => {});
    if (ctx) assert.deepEqual(s.protocol_faults(ctx.sdk_errors), [], `SDK protocol errors; gateway stderr tail:\n${io.stderr().slice(-4000)}`);
  });

  it('initialize: serverInfo and negotiated protocol version', () => s.check_initialize(ctx));
  it('tools/list: diagnostics tools with object input schemas', () => s.check_list_tools(ctx));
  it('tools/call echo returns the text', () => s.check_echo(ctx));
  it('tools/call fail is an isError result', () => s.check_fail_is_tool_error(ctx));
  it('unknown tool is -32602', () => s.check_unknown_tool(ctx));
  it('a 2 MiB result arrives whole (stdout: one message per line, debug logs on stderr)', () => s.check_blob(ctx, 2 * 1024 * 1024));
  it('progress notifications arrive, increasing, with the token verbatim', () => s.check_progress(ctx));
  it('abort via AbortSignal: cancelled sent, nothing comes back, session healthy', () => s.check_abort(ctx));
  it('SDK timeout: RequestTimeout on the client, nothing comes back, session healthy', () => s.check_client_timeout(ctx));
  // The SDK (like Claude Code) ends a stdio server by closing its stdin; it sends SIGTERM only if
  // the process is still there 2 s later. The gateway must exit 0 on EOF by itself.
  it('closing stdin: the gateway exits 0 on its own', async () => {
    const child = io.t._process; // the SDK keeps the ChildProcess here; the public API exposes only pid
    assert.ok(child, 'no child process');
    const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));
    await with_timeout(ctx.client.close(), 10000, 'client close');
    const how = await with_timeout(exited, 5000, 'gateway exit');
    assert.deepEqual(how, { code: 0, signal: null }, `gateway did not exit 0 on stdin EOF (SDK had to signal it); stderr tail:\n${io.stderr().slice(-2000)}`);
  });
});

describe('sdk over stdio with --call-timeout-ms 300', { timeout: 20000 }, () => {
  let ctx, io;
  before(async () => {
    io = stdio_transport(['--call-timeout-ms', '300']);
    ctx = await s.connect_client(io.t, 'interop-sdk-stdio-deadline');
  });
  after(async () => {
    await with_timeout(ctx?.client.close() ?? Promise.resolve(), 5000, 'client close').catch(() => {});
    if (ctx) assert.deepEqual(s.protocol_faults(ctx.sdk_errors), [], `SDK protocol errors; gateway stderr tail:\n${io.stderr().slice(-4000)}`);
  });

  it('server-side deadline: isError result naming the tool and the budget', () => s.check_server_deadline(ctx));
});
