// The MCP Inspector CLI (@modelcontextprotocol/inspector) over Streamable HTTP: the same as
// `npx mcp-inspector --cli http://127.0.0.1:3005/mcp --transport http --method ...` against a
// running `exai-gateway --listen`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gateway_env, start_listening_gateway, watchdog } from '../lib/harness.mjs';

watchdog(50000);

const here = dirname(fileURLToPath(import.meta.url));
const inspector = join(here, '..', 'node_modules', '.bin', 'mcp-inspector');
const scratch = mkdtempSync(join(tmpdir(), 'exai-inspector-http-'));

function inspect(url, args, ms = 20000) {
  return new Promise((resolve, reject) => {
    const env = {
      ...gateway_env(),
      MCP_CATALOG_PATH: join(scratch, 'mcp.json'),
      MCP_CLIENT_CONFIG_PATH: join(scratch, 'client.json'),
      NO_COLOR: '1',
    };
    const p = spawn(inspector, ['--cli', url, '--transport', 'http', ...args, '--format', 'json'],
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

describe('mcp inspector cli over streamable http', { timeout: 45000 }, () => {
  let gw;
  before(async () => { gw = await start_listening_gateway(['--tools', 'core,diagnostics']); });
  after(async () => {
    const running = gw?.is_running();
    const tail = gw?.stderr().slice(-3000);
    await gw?.stop();
    rmSync(scratch, { recursive: true, force: true });
    assert.ok(running, `gateway died during the tests; stderr tail:\n${tail}`);
  });

  it('tools/list lists echo with an object schema', async () => {
    const r = await inspect(gw.http_url, ['--method', 'tools/list']);
    assert.equal(r.code, 0, show(r));
    const echo = r.json?.result?.tools?.find(t => t.name === 'echo') ?? r.json?.tools?.find(t => t.name === 'echo');
    assert.ok(echo, `echo not listed: ${show(r)}`);
    assert.equal(echo.inputSchema?.type, 'object');
  });

  it('tools/call echo text=hi returns hi', async () => {
    const r = await inspect(gw.http_url, ['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=hi']);
    assert.equal(r.code, 0, show(r));
    const content = r.json?.result?.content ?? r.json?.content;
    assert.equal(content?.[0]?.text, 'hi', show(r));
  });
});
