// Starts lib/mock_llm_server.mjs (@dwmkerr/mock-llm on an ephemeral port) for a test file and
// waits for its ready file: { url, stop() }.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wait_until } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export async function start_mock_llm() {
  const dir = mkdtempSync(join(tmpdir(), 'exai-mock-llm-'));
  const ready = join(dir, 'ready.json');
  const proc = spawn(process.execPath, [join(here, 'mock_llm_server.mjs'), '--ready-file', ready],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', d => { err += d; });
  const info = await wait_until(() => existsSync(ready) && JSON.parse(readFileSync(ready, 'utf8')), 15000,
                                `mock-llm ready file (stderr: ${err})`);
  return { url: info.url, stop: () => { proc.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); } };
}
