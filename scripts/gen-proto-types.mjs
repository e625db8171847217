// Writes TypeScript types for every proto under protos/ with proto-loader-gen-types,
// using the loader options the service and the SDK load the protos with at run time.
// `--check` regenerates into a scratch folder and fails if the checked-in copy differs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = join(root, 'protos');
// The SDK never speaks xDS: the Envoy protos (and google.rpc, which only they use) stay out of it.
const serviceOnly = (file) => file.startsWith('envoy/') || file.startsWith('google/rpc/');
const targets = [
  { dir: join(root, 'src', 'generated'), files: () => true },
  { dir: join(root, 'client-sdk', 'src', 'generated'), files: (file) => !serviceOnly(file) },
];
const options = JSON.parse(readFileSync(join(protoDir, 'loader-options.json'), 'utf8'));

function protoFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return protoFiles(path);
    return name.endsWith('.proto') ? [relative(protoDir, path)] : [];
  });
}

function generate(outDir, files) {
  rmSync(outDir, { recursive: true, force: true });
  const flags = [
    `--longs=${options.longs}`,
    `--enums=${options.enums}`,
    ...(options.defaults ? ['--defaults'] : []),
    ...(options.oneofs ? ['--oneofs'] : []),
    ...(options.keepCase ? ['--keepCase'] : []),
    '--grpcLib=@grpc/grpc-js',
    '--importFileExtension=.js',
    '--includeDirs', relative(root, protoDir),
    '--outDir', outDir,
  ];
  const bin = join(root, 'node_modules', '.bin', 'proto-loader-gen-types');
  execFileSync(bin, [...flags, ...protoFiles(protoDir).filter(files)], { cwd: root, stdio: 'inherit' });
}

function snapshot(dir) {
  const files = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

if (process.argv.includes('--check')) {
  let stale = false;
  for (const target of targets) {
    const scratch = mkdtempSync(join(tmpdir(), 'proto-types-'));
    generate(scratch, target.files);
    const fresh = snapshot(scratch);
    rmSync(scratch, { recursive: true, force: true });
    const current = snapshot(target.dir);
    const names = new Set([...fresh.keys(), ...current.keys()]);
    for (const name of names) {
      if (fresh.get(name) !== current.get(name)) {
        console.error(`stale generated type: ${relative(root, join(target.dir, name))}`);
        stale = true;
      }
    }
  }
  if (stale) {
    console.error('run `npm run gen:protos` and commit the result');
    process.exit(1);
  }
  console.log('generated proto types are current');
} else {
  for (const target of targets) generate(target.dir, target.files);
}
