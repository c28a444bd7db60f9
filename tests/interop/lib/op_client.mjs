// A minimal client of the EXAI op dialect (exai-op-protocol.md) on the plain `ws` package: no
// subprotocol, one JSON object per text frame, replies matched by request_id.
import WebSocket from 'ws';
import { with_timeout, wait_until } from './harness.mjs';

export class op_client {
  static async connect(url, ws_options = {}) {
    const c = new op_client();
    c.ws_ = new WebSocket(url, ws_options);
    c.inbox = [];   // every frame received, parsed: { at, msg }
    c.closed = null;
    c.ws_.on('message', (data, is_binary) => {
      let msg;
      try { msg = JSON.parse(String(data)); } catch { msg = { unparsable: String(data), is_binary }; }
      c.inbox.push({ at: Date.now(), msg });
    });
    c.ws_.on('close', (code, reason) => { c.closed = { code, reason: String(reason) }; });
    await with_timeout(new Promise((resolve, reject) => { c.ws_.once('open', resolve); c.ws_.once('error', reject); }), 10000, `op connect ${url}`);
    return c;
  }
  send(obj) { this.ws_.send(JSON.stringify(obj)); }
  // Waits for the first received message (not yet taken) matching pred, and takes it.
  async take(pred, ms, what) {
    const hit = await wait_until(() => {
      const i = this.inbox.findIndex(r => !r.taken && pred(r.msg));
      if (i >= 0) return this.inbox[i];
      if (this.closed) throw new Error(`connection closed (${JSON.stringify(this.closed)}) while waiting for ${what}`);
      return null;
    }, ms, what);
    hit.taken = true;
    return hit.msg;
  }
  // Sends a request and takes the first reply carrying its request_id.
  async request(obj, ms = 10000) {
    this.send(obj);
    return this.take(m => m.request_id === obj.request_id && m.op !== 'progress', ms, `reply to ${JSON.stringify(obj)}`);
  }
  async wait_closed(ms) { return wait_until(() => this.closed, ms, 'server to close the connection'); }
  all_for(request_id) { return this.inbox.filter(r => r.msg.request_id === request_id).map(r => r.msg); }
  async close() {
    if (this.closed) return;
    this.ws_.close();
    await with_timeout(wait_until(() => this.closed, 5000, 'op close'), 6000, 'op close').catch(() => this.ws_.terminate());
  }
}
