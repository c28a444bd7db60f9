// Shared plumbing for the interop tests: locating the gateway, starting it on a loopback port,
// a wire tap around SDK transports, and bounded waits. Every wait here has a timeout.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, mkdtempSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// The binary under test. Missing is a failure, never a skip (team rules: no silently skipped tests).
export function gateway_bin() {
  const bin = process.env.EXAI_GATEWAY_BIN;
  if (!bin) throw new Error('EXAI_GATEWAY_BIN is not set (ctest sets it; by hand: export EXAI_GATEWAY_BIN=build/debug/bin/exai-gateway)');
  accessSync(bin, constants.X_OK);
  return bin;
}

// The environment for a gateway child: ours minus anything that would switch on auth or point it
// at a daemon, so the tests always talk to the embedded backend without a token.
export function gateway_env() {
  const env = { ...process.env };
  for (const k of ['EXAI_GATEWAY_TOKEN', 'EXAI_WS_HOST', 'EXAI_WS_PORT', 'EXAI_WS_TOKEN', 'LOG_LEVEL']) delete env[k];
  return env;
}

const children = new Set();
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });

// Hard ceiling for a whole test file, so a wedged gateway or client can never hang ctest.
export function watchdog(ms) {
  setTimeout(() => {
    process.stderr.write(`interop watchdog: test file still running after ${ms} ms, aborting\n`);
    process.exit(3);
  }, ms).unref();
}

export async function with_timeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); });
  try { return await Promise.race([promise, limit]); } finally { clearTimeout(timer); }
}

// Polls until pred() is truthy or the time runs out; returns the last value of pred().
export async function wait_until(pred, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

// Starts `exai-gateway --listen 127.0.0.1:0 --ready-file F <extra>` and waits for the ready file.
// Returns { url, host_port, proc, stderr(), stop() }.
// `extra_env` is added to gateway_env() (e.g. { EXAI_GATEWAY_TOKEN: '...' }).
export async function start_listening_gateway(extra_args = [], extra_env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'exai-interop-'));
  const ready = join(dir, 'ready.json');
  const args = ['--listen', '127.0.0.1:0', '--ready-file', ready, ...extra_args];
  const proc = spawn(gateway_bin(), args, { env: { ...gateway_env(), ...extra_env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  let err = '';
  proc.stderr.on('data', d => { err += d; if (err.length > 1 << 20) err = err.slice(-(1 << 19)); });
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; children.delete(proc); });
  const stderr = () => err;
  let info;
  try {
    info = await wait_until(() => {
      if (exited) throw new Error(`gateway exited before it was ready (${JSON.stringify(exited)}); stderr:\n${err}`);
      if (!existsSync(ready)) return null;
      try { return JSON.parse(readFileSync(ready, 'utf8')); } catch { return null; } // written but not complete yet
    }, 15000, `ready file ${ready}`);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  if (typeof info.ws !== 'string') throw new Error(`ready file has no "ws" address: ${JSON.stringify(info)}`);
  const stop = async () => {
    if (exited) return exited;
    proc.kill('SIGTERM');
    try { await wait_until(() => exited, 5000, 'gateway exit after SIGTERM'); } catch { proc.kill('SIGKILL'); }
    rmSync(dir, { recursive: true, force: true });
    return exited;
  };
  return { url: `ws://${info.ws}/`, http_url: `http://${info.ws}/mcp`, sse_url: `http://${info.ws}/sse`,
           admin: info.admin, host_port: info.ws, proc, stderr, stop, is_running: () => !exited };
}

// Wraps an SDK client transport and records every message in both directions, so tests can assert
// on the wire (e.g. "the SDK sent notifications/cancelled and no response came back for that id").
export class tap_transport {
  constructor(inner) {
    this.inner_ = inner;
    this.sent = [];     // { at, msg }
    this.received = []; // { at, msg }
  }
  async start() {
    this.inner_.onmessage = (msg, extra) => { this.received.push({ at: Date.now(), msg }); this.onmessage?.(msg, extra); };
    this.inner_.onclose = () => this.onclose?.();
    this.inner_.onerror = e => this.onerror?.(e);
    return this.inner_.start();
  }
  async send(msg, options) { this.sent.push({ at: Date.now(), msg }); return this.inner_.send(msg, options); }
  async close() { return this.inner_.close(); }
  get sessionId() { return this.inner_.sessionId; }
  setProtocolVersion(v) { this.inner_.setProtocolVersion?.(v); }

  // Responses (result or error) the server sent for request id `id`.
  responses_for(id) {
    return this.received.filter(r => r.msg.id === id && ('result' in r.msg || 'error' in r.msg));
  }
  // The id of the last request we sent with this method.
  last_request_id(method) {
    for (let i = this.sent.length - 1; i >= 0; i--) if (this.sent[i].msg.method === method && 'id' in this.sent[i].msg) return this.sent[i].msg.id;
    return undefined;
  }
}

export const text_of = result => (result.content ?? []).filter(c => c.type === 'text').map(c => c.text).join('');
