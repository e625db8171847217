import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { waitFor } from '../support/ports.js';

const SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'grpc-go');
/** Where Debian's golang-google-grpc-dev puts grpc-go 1.33 (GOPATH layout). */
export const DEBIAN_GOPATH = '/usr/share/gocode';
const GRPCLB_SOURCES = join(DEBIAN_GOPATH, 'src/google.golang.org/grpc/balancer/grpclb');
const PACKAGES = 'golang-go golang-google-grpc-dev';
const BUILD_TIMEOUT_MS = 90_000;

const run = promisify(execFile);

/**
 * Builds test/interop/grpc-go/ against Debian's grpc-go in GOPATH mode (no module proxy
 * needed) into a temp dir, cached by the hash of the sources and the Go version. Throws,
 * naming the Debian packages, when Go or the grpc-go sources are missing.
 */
export async function buildGrpcGoClient(): Promise<string> {
  let goVersion: string;
  try {
    goVersion = (await run('go', ['version'])).stdout.trim();
  } catch (error) {
    throw new Error(
      `the grpc-go interop test needs the Go toolchain ('go' is not on PATH: ${(error as Error).message}); ` +
        `install it with: apt-get install -y ${PACKAGES}`,
    );
  }
  if (!existsSync(GRPCLB_SOURCES)) {
    throw new Error(`the grpc-go interop test needs grpc-go's sources (${GRPCLB_SOURCES} is missing); install them with: apt-get install -y ${PACKAGES}`);
  }
  const hash = createHash('sha256').update(goVersion);
  for (const file of readdirSync(SOURCE_DIR).sort()) hash.update(file).update(readFileSync(join(SOURCE_DIR, file)));
  const base = join(tmpdir(), 'lookaside-interop-grpc-go');
  const outDir = join(base, hash.digest('hex').slice(0, 16));
  const binary = join(outDir, 'grpclb-client');
  if (existsSync(binary)) return binary;
  mkdirSync(outDir, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    await run('go', ['build', '-o', partial, '.'], {
      cwd: SOURCE_DIR,
      timeout: BUILD_TIMEOUT_MS,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: `${join(base, 'gopath')}:${DEBIAN_GOPATH}`,
        GOCACHE: join(base, 'gocache'),
        GOFLAGS: '',
        CGO_ENABLED: '0',
      },
    });
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`building the grpc-go client failed (${goVersion}; needs ${PACKAGES}): ${e.message}\n${e.stderr ?? ''}`);
  }
  renameSync(partial, binary);
  return binary;
}

/** What the Go client answers to one command. */
export interface GoAnswer {
  command: string;
  calls: number;
  /** Calls answered, per peer address as grpc-go saw it. */
  peers: Record<string, number>;
  errors: number;
  firstError?: string;
  millis: number;
}

export interface GoClient {
  child: ChildProcess;
  /** Everything grpc-go logged (stderr). */
  log(): string;
  /** Sends one command line and waits for its answer. */
  ask(command: string, timeoutMs?: number): Promise<GoAnswer>;
  /** Closes the channel and waits for the process to exit; resolves to its exit code. */
  quit(): Promise<number | null>;
  kill(): void;
}

export interface GoClientOptions {
  balancer: string;
  target: string;
  fallback?: string[];
}

/** Starts the built client; grpc-go logs at info level, verbosity 2 (grpclb's own log lines). */
export async function startGrpcGoClient(binary: string, options: GoClientOptions): Promise<GoClient> {
  const args = ['-balancer', options.balancer, '-target', options.target];
  if (options.fallback?.length) args.push('-fallback', options.fallback.join(','));
  const child = spawn(binary, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GRPC_GO_LOG_SEVERITY_LEVEL: 'info', GRPC_GO_LOG_VERBOSITY_LEVEL: '2' },
  });
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const answers: unknown[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => answers.push(JSON.parse(line)));
  let read = 0;
  const next = async <T>(what: string, timeoutMs: number): Promise<T> => {
    const value = await waitFor(
      `${what} from the grpc-go client`,
      () => {
        if (read < answers.length) return answers[read++] as T;
        if (child.exitCode !== null) throw new Error(`the grpc-go client exited with ${child.exitCode}; its log:\n${stderr}`);
        return undefined;
      },
      timeoutMs,
      5,
    );
    return value;
  };
  await next('ready', 10_000);
  return {
    child,
    log: () => stderr,
    ask(command, timeoutMs = 30_000) {
      child.stdin!.write(`${command}\n`);
      return next<GoAnswer>(`an answer to "${command}"`, timeoutMs);
    },
    async quit() {
      if (child.exitCode === null) child.stdin!.end('quit\n');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      return child.exitCode;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
