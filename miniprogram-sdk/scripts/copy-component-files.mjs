// Copies the components' templates, styles and JSON (components/**/*.{wxml,wxss,json}) beside
// their compiled scripts in dist/components, where a mini-program's "build npm" takes them from.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'components');
const target = join(root, 'dist', 'components');

function copy(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      copy(path);
    } else if (/\.(wxml|wxss|json)$/.test(entry.name)) {
      const to = join(target, relative(source, path));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(path, to);
    }
  }
}

copy(source);
