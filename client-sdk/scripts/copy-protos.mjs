// Copies the workspace's protos (../protos, the one source of truth) into this package so
// that a packed @lookaside/client-sdk carries them. Run by `prepack`; the copy is gitignored,
// and `postpack` (--remove) deletes it again so it never shadows ../protos in the workspace.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(pkg, '..', 'protos');
const target = join(pkg, 'protos');
if (process.argv.includes('--remove')) {
  rmSync(target, { recursive: true, force: true });
  process.exit(0);
}
if (!existsSync(join(source, 'loader-options.json'))) {
  console.error(`copy-protos: ${source} has no loader-options.json; run this inside the lookaside workspace`);
  process.exit(1);
}
rmSync(target, { recursive: true, force: true });
cpSync(source, target, { recursive: true });
console.log(`copy-protos: ${source} -> ${target}`);
