// The MCP Inspector CLI (@modelcontextprotocol/inspector) driving `exai-gateway --stdio`: the same
// as `npx mcp-inspector --cli <gateway> --stdio --tools core,diagnostics --method ...`. Arguments
// after the command go to the server; the Inspector's own options may follow them.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gateway_bin, gateway_env, watchdog } from '../lib/harness.mjs';

watchdog(50000);

const here = dirname(fileURLToPath(import.meta.url));
const inspector = join(here, '..', 'node_modules', '.bin', 'mcp-inspector');
// Keep the Inspector's catalog and client config out of the user's home.
const scratch = mkdtempSync(join(tmpdir(), 'exai-inspector-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// Runs the Inspector CLI once; resolves { code, out, err, json } (json: stdout parsed, if it parses).
function inspect(args, ms = 20000) {
  return new Promise((resolve, reject) => {
    const env = {
      ...gateway_env(),
      MCP_CATALOG_PATH: join(scratch, 'mcp.json'),
      MCP_CLIENT_CONFIG_PATH: join(scratch, 'client.json'),
      NO_COLOR: '1',
    };
    const p = spawn(inspector, ['--cli', gateway_bin(), '--stdio', '--tools', 'core,diagnostics', '--log-level', 'debug', ...args, '--format', 'json'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', d => { out += d; });
    p.stderr.on('data', d => { err += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`inspector timed out after ${ms} ms: ${args.join(' ')}\nstderr:\n${err.slice(-3000)}`)); }, ms);
    p.on('error', e => { clearTimeout(timer); reject(e); });
    p.on('close', code => {
      clearTimeout(timer);
      let json;
      try { json = JSON.parse(out); } catch { json = undefined; }
      resolve({ code, out, err, json });
    });
  });
}

const show = r => `exit ${r.code}\nstdout:\n${r.out.slice(0, 3000)}\nstderr:\n${r.err.slice(-3000)}`;

describe('mcp inspector cli over stdio', { timeout: 45000 }, () => {
  it('tools/list lists echo with an object schema', async () => {
    const r = await inspect(['--method', 'tools/list']);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.json?.result?.tools, show(r));
    const echo = r.json.result.tools.find(t => t.name === 'echo');
    assert.ok(echo, `echo not listed: ${show(r)}`);
    assert.equal(echo.inputSchema?.type, 'object');
  });

  it('tools/call echo text=hi returns hi', async () => {
    const r = await inspect(['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=hi']);
    assert.equal(r.code, 0, show(r));
    const content = r.json?.result?.content;
    assert.ok(Array.isArray(content), show(r));
    assert.deepEqual(content.filter(c => c.type === 'text').map(c => c.text), ['hi'], show(r));
    assert.ok(!r.json.result.isError, show(r));
  });

  // A dual-era client probes with server/discover first and falls back to initialize on an error
  // (mcp-server-rules.md: an unknown method before initialize gets an error, never silence).
  it('--protocol-era auto falls back to the legacy handshake', async () => {
    const r = await inspect(['--protocol-era', 'auto', '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=era']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual((r.json?.result?.content ?? []).map(c => c.text), ['era'], show(r));
  });

  // Pinned to the 2026-07-28 era: server/discover, then stateless requests carrying _meta; the
  // Inspector gives up ("no fallback in pin mode") unless the gateway serves that era itself.
  it('--protocol-era modern lists and calls statelessly', async () => {
    const list = await inspect(['--protocol-era', 'modern', '--method', 'tools/list']);
    assert.equal(list.code, 0, show(list));
    assert.ok(list.json?.result?.tools?.some(t => t.name === 'echo'), show(list));
    const r = await inspect(['--protocol-era', 'modern', '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=modern']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual((r.json?.result?.content ?? []).map(c => c.text), ['modern'], show(r));
  });

  it('tools/call fail surfaces as a tool error', async () => {
    const r = await inspect(['--method', 'tools/call', '--tool-name', 'fail', '--tool-arg', 'message=boom']);
    assert.notEqual(r.code, 0, `a tool error must not look like success: ${show(r)}`);
    assert.match(r.out + r.err, /isError|tool_is_error/, show(r));
  });

  it('load mode: 400 echo calls, 8 at a time, all succeed', async () => {
    const r = await inspect(['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=load',
      '--load', '--load-concurrency', '8', '--load-requests', '400', '--load-duration', '15'], 30000);
    assert.equal(r.code, 0, show(r));
    const res = r.json?.result;
    assert.ok(res, show(r));
    assert.equal(res.requests, 400, show(r));
    assert.equal(res.ok, 400, show(r));
    assert.equal(res.errors, 0, show(r));
    assert.equal(res.toolErrors, 0, show(r));
  });
});
