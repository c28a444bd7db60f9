// ctest fixture for the interop tests: fails with a clear message when the pinned npm clients are
// not installed (or not at the pinned versions), instead of every test failing on an import.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pins = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies;
const problems = [];
for (const [name, want] of Object.entries(pins)) {
  try {
    const have = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    if (have !== want) problems.push(`${name}: installed ${have}, pinned ${want}`);
  } catch {
    problems.push(`${name}@${want}: not installed`);
  }
}
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) problems.push(`node ${process.versions.node}: need 20 or newer`);
if (problems.length) {
  process.stderr.write(`interop dependencies are not ready:\n  ${problems.join('\n  ')}\n` +
    `run scripts/setup (it runs \`npm ci\` in tests/interop)\n`);
  process.exit(1);
}
process.stdout.write(`interop dependencies ok: ${Object.entries(pins).map(([n, v]) => `${n}@${v}`).join(', ')}; node ${process.versions.node}\n`);
