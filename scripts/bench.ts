/**
 * `npm run bench`: a benchmark, not a test. It prints figures and exits 0 whatever they are.
 *
 * It builds the server, runs it as a child process and drives it over loopback with autocannon:
 *   - authenticated create: POST /message with a Bearer token and a small message;
 *   - read-once: GET /message/{id}, every request reading a different pre-created one-view id;
 * at 8 and 64 connections, on the embedded database (PGlite in a temp DATA_DIR) and on
 * PostgreSQL (a fresh database from test/helpers/postgres.ts, served through its
 * least-privilege role, dropped at the end). On the same database it runs a baseline, a bare
 * Fastify route doing the same single SQL statement (scripts/bench-baseline.ts), and prints
 * Sealnote's throughput and p99 relative to it, plus the server's RSS at rest and under load.
 *
 * Knobs (environment): BENCH_WARMUP_S (2), BENCH_DURATION_S (5), BENCH_ROUNDS (3: each
 * PostgreSQL phase runs that many times per server, alternating which goes first, and the
 * report gives medians), BENCH_SKIP_BUILD=1 (reuse
 * dist/), BENCH_EMBEDDED_SEED (ids pre-created for the embedded read phases), BENCH_ONLY
 * (`embedded` or `postgres`), BENCH_SCENARIOS (`create,read`), BENCH_CPU_PROF=dir (start the
 * Sealnote servers with --cpu-prof; the profiles are written there when they stop),
 * BENCH_SERVER_ENTRY=path/server.js (measure another build, e.g. a patched copy for ablation),
 * BENCH_NODE_OPTIONS (extra node flags for the Sealnote server, e.g. --max-old-space-size=96).
 * BENCH_FIXED_RATE (req/s offered to both servers in an extra PostgreSQL phase at 64
 * connections, to compare latency at equal load; 1500, 0 to skip).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createAccountService } from '../src/accounts/account-service.js';
import { FernetKey } from '../src/crypto/fernet.js';
import { createMessageCipher, type MessageCipher } from '../src/crypto/message-cipher.js';
import { openEmbedded, type Queryable } from '../src/storage/database.js';
import { migrate } from '../src/storage/migrations.js';
import { createTestDatabase, PG_ADMIN_URL } from '../test/helpers/postgres.js';
import {
  cleanup,
  cpuMs,
  freePort,
  onCleanup,
  rssMb,
  sampleRss,
  setDeadline,
  sleep,
  startChild,
  tempDir,
} from './bench-processes.js';
import {
  combineRounds,
  fixedRateKey,
  fmt,
  key,
  report,
  type Measure,
  type Results,
  type Rss,
  type Scenario,
} from './bench-report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? '2');
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? '5');
/** Each PostgreSQL phase runs this many times per server; the report gives the medians. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '3');
const CONNECTIONS = [8, 64] as const;
const POOL_SIZE = 16;
/** Rate limits are per minute and the config allows at most 1,000,000. */
const NO_LIMIT = '1000000';
const EMBEDDED_SEED = Number(process.env.BENCH_EMBEDDED_SEED ?? '160000');
const ONLY = process.env.BENCH_ONLY;
const SCENARIOS = (['create', 'read'] as const).filter((s) =>
  (process.env.BENCH_SCENARIOS ?? 'create,read').split(',').includes(s),
);
/** The whole run stops by itself after this, cleaning up, whatever state it is in. */
const HARD_DEADLINE_MS = 12 * 60_000;
/** Requests/s offered to both servers in the fixed-rate phases on PostgreSQL; 0 skips them. */
const FIXED_RATE = Number(process.env.BENCH_FIXED_RATE ?? '1500');
setDeadline(HARD_DEADLINE_MS);
const PROFILE =
  process.env.BENCH_CPU_PROF === undefined ? undefined : resolve(process.env.BENCH_CPU_PROF);
/** Extra node flags for the Sealnote server, e.g. `--max-old-space-size=96`. */
const NODE_FLAGS = (process.env.BENCH_NODE_OPTIONS ?? '').split(' ').filter((f) => f !== '');
/** The node flags of `npm start` (its memory settings), so that the server runs as it is run. */
const START_FLAGS = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .split(' ')
  .filter((word) => word.startsWith('--'));
/** Another compiled server.js to measure (e.g. a patched copy of dist/ for an ablation). */
const SERVER_ENTRY =
  process.env.BENCH_SERVER_ENTRY === undefined
    ? undefined
    : resolve(process.env.BENCH_SERVER_ENTRY);
const MESSAGE = 'The vault code is 4711; burn after reading. '.repeat(2);
const USERNAME = 'bench_user';
const PASSWORD = 'bench-password-' + randomBytes(8).toString('hex');

// ---------------------------------------------------------------------------------------------
// The API, seeding and the id queues of the read phases.

async function api<T>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

async function signIn(url: string, register: boolean): Promise<{ token: string; userId: string }> {
  if (register)
    await api(url, 'POST', '/auth/register', { username: USERNAME, password: PASSWORD });
  const { access_token: token } = await api<{ access_token: string }>(url, 'POST', '/auth/login', {
    username: USERNAME,
    password: PASSWORD,
  });
  const me = await api<{ id: string }>(url, 'GET', '/auth/me', undefined, token);
  return { token, userId: me.id };
}

class IdQueue {
  private ids: string[] = [];
  private next = 0;
  exhausted = 0;

  get remaining(): number {
    return this.ids.length - this.next;
  }

  push(ids: string[]): void {
    this.ids = this.ids.slice(this.next).concat(ids);
    this.next = 0;
  }

  /** A fresh id; when none is left, an unknown one (a 404), counted in `exhausted`. */
  take(): string {
    const id = this.ids[this.next];
    if (id === undefined) {
      this.exhausted += 1;
      return randomUUID();
    }
    this.next += 1;
    return id;
  }
}

/**
 * Inserts one-view messages straight into the table, many per statement. With a cipher the
 * content is sealed exactly as the service seals it (bound to the id); without, it is a fixed
 * string (the baseline does not decrypt).
 */
async function seed(
  db: Queryable,
  ownerId: string,
  count: number,
  cipher: MessageCipher | undefined,
): Promise<string[]> {
  const ids: string[] = [];
  const BATCH = 5000;
  for (let done = 0; done < count; done += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - done) }, () => randomUUID());
    const contents = batch.map((id) => (cipher === undefined ? MESSAGE : cipher.seal(id, MESSAGE)));
    await db.query(
      `INSERT INTO messages (id, owner_id, content, passphrase_hash, max_views, views_left,
                             expires_at)
       SELECT t.id, $1::uuid, t.content, NULL, 1, 1, now() + interval '1 day'
         FROM unnest($2::uuid[], $3::text[]) AS t(id, content)`,
      [ownerId, batch, contents],
    );
    ids.push(...batch);
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Load.

interface LoadTarget {
  label: string;
  url: string;
  pid: number;
  token: string;
  ids: IdQueue;
  /** Puts `count` more fresh ids into `ids` (PostgreSQL), or nothing (embedded: pre-seeded). */
  topUp: ((count: number) => Promise<void>) | undefined;
}

function fire(
  target: LoadTarget,
  scenario: Scenario,
  connections: number,
  seconds: number,
  rate?: number,
) {
  const common = {
    url: target.url,
    connections,
    duration: seconds,
    timeout: 10,
    ...(rate === undefined ? {} : { overallRate: rate }),
  };
  const options: autocannon.Options =
    scenario === 'create'
      ? {
          ...common,
          url: `${target.url}/message`,
          method: 'POST',
          headers: {
            authorization: `Bearer ${target.token}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ message: MESSAGE }),
        }
      : {
          ...common,
          requests: [
            {
              method: 'GET',
              setupRequest: (request) => ({ ...request, path: `/message/${target.ids.take()}` }),
            },
          ],
        };
  return autocannon(options);
}

async function measure(
  target: LoadTarget,
  scenario: Scenario,
  connections: number,
  estimate: number,
  rate?: number,
): Promise<Measure> {
  // Read phases need one fresh id per request: enough for a generous guess of the rate.
  const provide = async (rate: number, seconds: number) => {
    if (scenario !== 'read' || target.topUp === undefined) return;
    const want = Math.ceil(rate * seconds * 1.5) + 2000;
    if (target.ids.remaining < want) await target.topUp(want - target.ids.remaining);
  };
  const stopRss = sampleRss(target.pid);
  await provide(Math.max(estimate, 3000), WARMUP_S);
  const warm = await fire(target, scenario, connections, WARMUP_S, rate);
  await provide(Math.max(warm['2xx'] / warm.duration, estimate), DURATION_S);
  const exhaustedBefore = target.ids.exhausted;
  const cpuBefore = cpuMs(target.pid);
  const clientBefore = process.cpuUsage();
  const res = await fire(target, scenario, connections, DURATION_S, rate);
  const client = process.cpuUsage(clientBefore);
  const cpuAfter = cpuMs(target.pid);
  const peakRssMb = stopRss();
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  const completed = res['2xx'] + res.non2xx;
  const m: Measure = {
    rps: res['2xx'] / res.duration,
    p50: res.latency.p50,
    p99: res.latency.p99,
    non2xx: res.non2xx,
    errors: res.errors,
    exhausted: target.ids.exhausted - exhaustedBefore,
    peakRssMb,
    cpuPerReqMs: cpu === undefined || completed === 0 ? undefined : cpu / completed,
    clientCpuPerReqMs:
      completed === 0 ? undefined : (client.user + client.system) / 1000 / completed,
    cores: cpu === undefined ? undefined : cpu / 1000 / res.duration,
  };
  console.log(
    `  ${target.label.padEnd(10)} ${scenario.padEnd(6)} c=${String(connections).padEnd(3)} ` +
      (rate === undefined ? '' : `at ${rate}/s `) +
      `${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50} ms  p99 ${m.p99} ms  ` +
      `non-2xx ${m.non2xx}  errors ${m.errors}` +
      (m.exhausted > 0 ? `  ids exhausted ${m.exhausted}` : '') +
      `  CPU ${fmt(m.cpuPerReqMs, 3)} ms/req (${fmt(m.cores, 2)} cores), load tool ${fmt(m.clientCpuPerReqMs, 3)} ms/req` +
      `  peak RSS ${fmt(m.peakRssMb, 0)} MB`,
  );
  return m;
}

// ---------------------------------------------------------------------------------------------
// Sealnote and the baseline.

function serverCommand(built: boolean, profileDir: string | undefined): string[] {
  const prof = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  prof.push(...START_FLAGS, ...NODE_FLAGS);
  if (SERVER_ENTRY !== undefined) return [...prof, SERVER_ENTRY];
  return built ? [...prof, 'dist/server.js'] : [...prof, '--import', 'tsx', 'src/server.ts'];
}

function sealnoteEnv(dataDir: string, port: number, keys: string, jwtSecret: string) {
  return {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    JWT_SECRET: jwtSecret,
    ENCRYPTION_KEYS: keys,
    RATE_LIMIT_MAX: NO_LIMIT,
    AUTH_RATE_LIMIT_MAX: NO_LIMIT,
    CREATE_RATE_LIMIT_MAX: NO_LIMIT,
    // The periodic purge would delete the rows spent by the other server's phase and land in
    // a random phase; it is background work outside the request path, so it is kept out.
    PURGE_INTERVAL_SECONDS: '86400',
  };
}

async function restingRss(pid: number): Promise<number | undefined> {
  await sleep(1_000);
  return rssMb(pid);
}

async function benchEmbedded(built: boolean, results: Results): Promise<Rss> {
  console.log('\nEmbedded database (PGlite in a temp DATA_DIR)');
  const dataDir = tempDir('sealnote-bench-embedded-');
  const keys = FernetKey.generate();
  const cipher = createMessageCipher([keys]);

  // The server holds the embedded database exclusively once it runs, so the ids of the read
  // phases are made beforehand, through the same schema, cipher and account service.
  let started = Date.now();
  const db = await openEmbedded(dataDir);
  let ids: string[];
  try {
    await migrate(db);
    const owner = await createAccountService(db).register(USERNAME, PASSWORD);
    ids = await seed(db, owner.id, EMBEDDED_SEED, cipher);
  } finally {
    await db.close();
  }
  console.log(`  pre-created ${ids.length} one-view messages in ${Date.now() - started} ms`);

  started = Date.now();
  const port = await freePort();
  const env = sealnoteEnv(dataDir, port, keys, randomBytes(32).toString('base64url'));
  const server = await startChild(
    'sealnote (embedded)',
    serverCommand(built, PROFILE),
    env,
    port,
    '/readyz',
  );
  console.log(`  server pid ${server.pid} ready in ${Date.now() - started} ms`);
  const { token } = await signIn(server.url, false);
  const restMb = await restingRss(server.pid);

  const queue = new IdQueue();
  queue.push(ids);
  const target: LoadTarget = {
    label: 'embedded',
    url: server.url,
    pid: server.pid,
    token,
    ids: queue,
    topUp: undefined,
  };
  for (const scenario of SCENARIOS) {
    for (const c of CONNECTIONS) {
      results.set(key('embedded', scenario, c), await measure(target, scenario, c, 0));
    }
  }
  const afterMb = await restingRss(server.pid);
  await server.stop();
  return { restMb, peakMb: peakOf(results, 'embedded'), afterMb };
}

async function benchPostgres(
  built: boolean,
  results: Results,
): Promise<{ sealnote: Rss; baseline: Rss; version: string }> {
  console.log('\nPostgreSQL (fresh database, least-privilege app role)');
  let started = Date.now();
  const database = await createTestDatabase();
  onCleanup(`test database ${database.name}`, () => database.drop());
  console.log(`  database ${database.name} created and migrated in ${Date.now() - started} ms`);

  const pool = new pg.Pool({ connectionString: database.appUrl, max: 2 });
  onCleanup('seeding pool', () => pool.end());
  const seeder: Queryable = {
    query: async <T>(sql: string, params?: unknown[]) =>
      (await pool.query(sql, params)).rows as T[],
    exec: async (sql: string) => {
      await pool.query(sql);
    },
  };
  const [{ version } = { version: '?' }] = await seeder.query<{ version: string }>(
    "SELECT current_setting('server_version') AS version",
  );

  const keys = FernetKey.generate();
  const cipher = createMessageCipher([keys]);
  started = Date.now();
  const port = await freePort();
  const env = {
    ...sealnoteEnv(
      tempDir('sealnote-bench-pg-'),
      port,
      keys,
      randomBytes(32).toString('base64url'),
    ),
    DATABASE_URL: database.appUrl,
  };
  const server = await startChild(
    'sealnote (postgres)',
    serverCommand(built, PROFILE),
    env,
    port,
    '/readyz',
  );
  console.log(`  server pid ${server.pid} ready in ${Date.now() - started} ms`);
  const { token, userId } = await signIn(server.url, true);
  const restMb = await restingRss(server.pid);

  const basePort = await freePort();
  const base = await startChild(
    'baseline',
    [
      ...(PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`]),
      '--import',
      'tsx',
      'scripts/bench-baseline.ts',
    ],
    {
      BASELINE_DATABASE_URL: database.appUrl,
      BASELINE_OWNER_ID: userId,
      BASELINE_PORT: String(basePort),
      BASELINE_POOL_MAX: String(POOL_SIZE),
    },
    basePort,
    '/healthz',
  );
  console.log(`  baseline pid ${base.pid}`);
  const baseRestMb = await restingRss(base.pid);

  const seeding = { ms: 0, rows: 0 };
  const topUp = (queue: IdQueue, sealed: boolean) => async (count: number) => {
    const t = Date.now();
    queue.push(await seed(seeder, userId, count, sealed ? cipher : undefined));
    seeding.ms += Date.now() - t;
    seeding.rows += count;
  };
  const sealnoteIds = new IdQueue();
  const baselineIds = new IdQueue();
  const targets: LoadTarget[] = [
    {
      label: 'postgres',
      url: server.url,
      pid: server.pid,
      token,
      ids: sealnoteIds,
      topUp: topUp(sealnoteIds, true),
    },
    {
      label: 'baseline',
      url: base.url,
      pid: base.pid,
      token,
      ids: baselineIds,
      topUp: topUp(baselineIds, false),
    },
  ];
  // Interleaved, so that both see the same table size, cache and machine state, and in rounds
  // that alternate which server goes first: a stretch where the shared machine runs slow then
  // falls on both alike, and the medians leave a single slowed round out.
  for (const scenario of SCENARIOS) {
    for (const c of CONNECTIONS) {
      const rounds = new Map<string, Measure[]>(targets.map((t) => [t.label, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
          // A first guess of the read rate: reads cost about what creates cost.
          const guess = results.get(key(target.label, 'create', c))?.rps ?? 0;
          rounds.get(target.label)?.push(await measure(target, scenario, c, guess * 2));
        }
      }
      for (const [label, measures] of rounds) {
        results.set(key(label, scenario, c), combineRounds(measures));
      }
    }
  }
  // Closed-loop latency follows throughput; at one offered rate that both servers sustain,
  // p99 shows the latency each request itself adds.
  if (FIXED_RATE > 0) {
    for (const scenario of SCENARIOS) {
      for (const target of targets) {
        results.set(
          fixedRateKey(target.label, scenario),
          await measure(target, scenario, 64, FIXED_RATE, FIXED_RATE),
        );
      }
    }
  }
  console.log(`  seeded ${seeding.rows} one-view messages in ${seeding.ms} ms between phases`);
  const afterMb = await restingRss(server.pid);
  const baseAfterMb = await restingRss(base.pid);
  await server.stop();
  await base.stop();
  return {
    sealnote: { restMb, peakMb: peakOf(results, 'postgres'), afterMb },
    baseline: { restMb: baseRestMb, peakMb: peakOf(results, 'baseline'), afterMb: baseAfterMb },
    version,
  };
}

function peakOf(results: Results, target: string): number | undefined {
  let peak: number | undefined;
  for (const [k, m] of results) {
    if (!k.startsWith(`${target}/`) || m.peakRssMb === undefined) continue;
    peak = Math.max(peak ?? 0, m.peakRssMb);
  }
  return peak;
}

// ---------------------------------------------------------------------------------------------

async function build(): Promise<boolean> {
  if (process.env.BENCH_SKIP_BUILD === '1' && existsSync(join(ROOT, 'dist/server.js'))) return true;
  console.log('Building the server (npm run build:server)...');
  const proc = spawn('npm', ['run', 'build:server'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup('build', () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
  });
  let output = '';
  proc.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  proc.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const code = await new Promise<number | null>((done) => proc.once('exit', done));
  if (code === 0) return true;
  console.error(`build failed (exit ${code}); running src/server.ts through tsx instead:`);
  console.error(output.slice(-3000));
  return false;
}

async function main(): Promise<void> {
  const began = Date.now();
  const loadAtStart = loadavg();
  const built = await build();
  const autocannonVersion = (
    JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const results: Results = new Map();
  const rss: { embedded?: Rss; postgres?: Rss; baseline?: Rss } = {};
  let pgVersion = 'not run';
  const failures: string[] = [];
  if (ONLY === undefined || ONLY === 'embedded') {
    try {
      rss.embedded = await benchEmbedded(built, results);
    } catch (err) {
      failures.push(`embedded: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (ONLY === undefined || ONLY === 'postgres') {
    try {
      const pgRun = await benchPostgres(built, results);
      rss.postgres = pgRun.sealnote;
      rss.baseline = pgRun.baseline;
      pgVersion = pgRun.version;
    } catch (err) {
      failures.push(`postgres: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const load = (l: number[]) => l.map((n) => n.toFixed(1)).join(' ');
  report(
    results,
    rss,
    [
      `machine: ${availableParallelism()} CPUs (nproc), ${cpu}, ${fmt(totalmem() / 2 ** 30, 0)} GiB RAM, Linux ${release()}`,
      `node ${process.version}; PostgreSQL ${pgVersion} at ${new URL(PG_ADMIN_URL).host}; autocannon ${autocannonVersion} in the bench process on the same machine`,
      `server: (node flags of npm start: ${START_FLAGS.join(' ') || 'none'}${NODE_FLAGS.length > 0 ? `; extra: ${NODE_FLAGS.join(' ')}` : ''}) ${SERVER_ENTRY !== undefined ? `node ${SERVER_ENTRY}` : built ? 'node dist/server.js (compiled)' : 'node --import tsx src/server.ts (build failed)'}, LOG_LEVEL=warn, rate limits ${NO_LIMIT}/min, periodic purge off (PURGE_INTERVAL_SECONDS=86400), pg pool ${POOL_SIZE}`,
      `each phase: ${WARMUP_S} s warm-up, then ${DURATION_S} s measured; on PostgreSQL ${ROUNDS} rounds per server, alternating which goes first, reported as medians (p99: median of the rounds' p99; RSS: the highest); create body ${Buffer.byteLength(JSON.stringify({ message: MESSAGE }))} bytes; read-once ids are one-view messages, one per request`,
      `run took ${((Date.now() - began) / 1000).toFixed(0)} s; load average at start ${load(loadAtStart)}, at end ${load(loadavg())}` +
        (Math.max(...loadAtStart, ...loadavg()) > availableParallelism()
          ? ' (the machine was busy with other work: absolute figures are depressed and noisy; the interleaved ratios and the CPU ms/req are the steadier figures)'
          : ''),
      'load is closed-loop (each connection sends its next request on the answer), so at a fixed connection count latency ~ connections / throughput: a server slower than the baseline also has a higher p50/p99',
    ],
    CONNECTIONS,
  );
  if (failures.length > 0) {
    console.log('### Failures\n');
    for (const f of failures) console.log(`- ${f}\n`);
  }
}

try {
  await main();
} catch (err) {
  console.error(err);
} finally {
  await cleanup();
}
process.exit(0);
