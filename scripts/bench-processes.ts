/**
 * The benchmark's process plumbing: child servers, their memory and CPU, temp dirs, and a
 * clean-up that runs on error, Ctrl-C or the deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------
// Clean-up: children, temp dirs and the test database go even on error, Ctrl-C or the deadline.

const cleanups: { name: string; run: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;

export function onCleanup(name: string, run: () => Promise<void> | void): void {
  cleanups.push({ name, run: async () => run() });
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const { name, run } of cleanups.reverse()) {
      try {
        await run();
      } catch (err) {
        console.error(`clean-up of ${name} failed: ${String(err)}`);
      }
    }
  })();
  return cleaning;
}

// Persistent listeners, not `once`: a second signal (a repeated Ctrl-C, or the copy that the
// tsx runner relays to its child) must not find the process without a handler, which would end
// it before the clean-up has dropped the database. The third one gives up on the clean-up.
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals === 1) {
      console.error(`\n${signal}: stopping and cleaning up`);
      void cleanup().finally(() => process.exit(130));
    } else if (signals >= 3) {
      console.error(`${signal}: leaving without finishing the clean-up`);
      process.exit(130);
    }
  });
}
/** Gives up, cleaning up, if the run is still going after `ms`. */
export function setDeadline(ms: number): void {
  setTimeout(() => {
    console.error(`bench: still running after ${ms / 1000} s; giving up`);
    void cleanup().finally(() => process.exit(1));
  }, ms).unref();
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(`temp dir ${dir}`, () => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Child processes.

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolvePort(address.port);
      });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    proc.once('exit', () => {
      done();
    });
  });
}

export async function startChild(
  name: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  readyPath: string,
): Promise<Child> {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const killed = await Promise.race([exited(proc).then(() => true), sleep(12_000)]);
    if (killed !== true) {
      proc.kill('SIGKILL');
      await exited(proc);
    }
  };
  onCleanup(`${name} (pid ${proc.pid ?? '?'})`, stop);
  if (proc.pid === undefined) throw new Error(`${name} did not start`);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) on start:\n${tail}`);
    }
    try {
      const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} was not ready in 60 s:\n${tail}`);
    await sleep(100);
  }
  return { name, proc, pid: proc.pid, url, output: () => tail, stop };
}

export function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** User + system CPU time of a process so far, in ms (clock ticks are 10 ms on Linux). */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples VmRSS every 100 ms until stopped; returns the peak. */
export function sampleRss(pid: number): () => number | undefined {
  let peak: number | undefined;
  const take = () => {
    const mb = rssMb(pid);
    if (mb !== undefined && (peak === undefined || mb > peak)) peak = mb;
  };
  take();
  const timer = setInterval(take, 100);
  return () => {
    clearInterval(timer);
    take();
    return peak;
  };
}
