/** The benchmark's results: their shapes, and the tables and verdicts it prints. */

export const TARGETS = {
  createRatio: 0.7,
  readRatio: 0.7,
  rssPostgresMb: 150,
  rssEmbeddedMb: 350,
};

export type Scenario = 'create' | 'read';

export interface Measure {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  exhausted: number;
  peakRssMb: number | undefined;
  /** Server process CPU (user + system) per completed request, ms. */
  cpuPerReqMs: number | undefined;
  /** The load tool's CPU (this process) per completed request, ms: larger answers cost it more. */
  clientCpuPerReqMs: number | undefined;
  /** Server process CPU use during the measured phase, in cores (1.0 = one core busy). */
  cores: number | undefined;
  /** The p99 of each round, when the figure combines several rounds. */
  p99s?: number[];
}

export interface Rss {
  restMb: number | undefined;
  peakMb: number | undefined;
  afterMb: number | undefined;
}

export type Results = Map<string, Measure>;

export const key = (target: string, scenario: Scenario, connections: number) =>
  `${target}/${scenario}/${connections}`;

export const fixedRateKey = (target: string, scenario: Scenario) =>
  `${target}/${scenario}/fixed-rate`;

/** The middle value; for an even count, the mean of the two middle values. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

function medianOfDefined(values: (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : median(defined);
}

/**
 * One figure from several rounds of the same phase: the median of each rate, latency and CPU
 * figure (a round that the machine slowed does not decide the result), the sum of failures and
 * the highest RSS. The p99 of every round is kept for the report.
 */
export function combineRounds(rounds: Measure[]): Measure {
  const peaks = rounds.map((m) => m.peakRssMb).filter((v): v is number => v !== undefined);
  return {
    rps: median(rounds.map((m) => m.rps)),
    p50: median(rounds.map((m) => m.p50)),
    p99: median(rounds.map((m) => m.p99)),
    non2xx: rounds.reduce((n, m) => n + m.non2xx, 0),
    errors: rounds.reduce((n, m) => n + m.errors, 0),
    exhausted: rounds.reduce((n, m) => n + m.exhausted, 0),
    peakRssMb: peaks.length === 0 ? undefined : Math.max(...peaks),
    cpuPerReqMs: medianOfDefined(rounds.map((m) => m.cpuPerReqMs)),
    clientCpuPerReqMs: medianOfDefined(rounds.map((m) => m.clientCpuPerReqMs)),
    cores: medianOfDefined(rounds.map((m) => m.cores)),
    p99s: rounds.map((m) => m.p99),
  };
}

export function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
}

/** A p99 figure, followed by the round figures it is the median of. */
function roundsOf(m: Measure): string {
  return m.p99s === undefined || m.p99s.length < 2
    ? String(m.p99)
    : `${m.p99} (${m.p99s.join(', ')})`;
}

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS';
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function report(
  results: Results,
  rss: { embedded?: Rss; postgres?: Rss; baseline?: Rss },
  machine: string[],
  connections: readonly number[],
): void {
  const out: string[] = ['', '## Sealnote benchmark', '', ...machine.map((m) => `- ${m}`), ''];
  const labels: Record<string, string> = {
    embedded: 'Sealnote, embedded (PGlite)',
    postgres: 'Sealnote, PostgreSQL',
    baseline: 'baseline (bare Fastify + pg), PostgreSQL',
  };
  const rows: string[][] = [];
  for (const target of ['embedded', 'postgres', 'baseline']) {
    for (const scenario of ['create', 'read'] as const) {
      for (const c of connections) {
        const m = results.get(key(target, scenario, c));
        if (m === undefined) continue;
        rows.push([
          labels[target] ?? target,
          scenario === 'create' ? 'create (POST /message)' : 'read-once (GET /message/{id})',
          String(c),
          fmt(m.rps, 0),
          String(m.p50),
          String(m.p99),
          String(m.non2xx + m.errors) + (m.exhausted > 0 ? ` (${m.exhausted} ids short)` : ''),
          fmt(m.cpuPerReqMs, 3),
          fmt(m.cores, 2),
          fmt(m.peakRssMb, 0),
        ]);
      }
    }
  }
  out.push('### Throughput and latency', '');
  out.push(
    table(
      [
        'server',
        'scenario',
        'conns',
        'req/s (2xx)',
        'p50 ms',
        'p99 ms',
        'failed',
        'server CPU ms/req',
        'server cores',
        'peak RSS MB',
      ],
      rows,
    ),
  );

  out.push('', '### Memory (VmRSS of the server process)', '');
  out.push(
    table(
      ['server', 'at rest (before load) MB', 'peak under load MB', 'at rest (after load) MB'],
      (['embedded', 'postgres', 'baseline'] as const).flatMap((t) => {
        const r = rss[t];
        return r === undefined
          ? []
          : [[labels[t] ?? t, fmt(r.restMb, 0), fmt(r.peakMb, 0), fmt(r.afterMb, 0)]];
      }),
    ),
  );

  const cmpRows: string[][] = [];
  const checks: string[][] = [];
  for (const scenario of ['create', 'read'] as const) {
    for (const c of connections) {
      const s = results.get(key('postgres', scenario, c));
      const b = results.get(key('baseline', scenario, c));
      if (s === undefined || b === undefined) continue;
      const ratio = s.rps / b.rps;
      const p99ratio = s.p99 / b.p99;
      cmpRows.push([
        scenario,
        String(c),
        fmt(s.rps, 0),
        fmt(b.rps, 0),
        fmt(ratio, 2),
        roundsOf(s),
        roundsOf(b),
        fmt(p99ratio, 2),
        `${fmt(s.cpuPerReqMs, 3)} / ${fmt(b.cpuPerReqMs, 3)}`,
      ]);
      if (c === 64) {
        const min = scenario === 'create' ? TARGETS.createRatio : TARGETS.readRatio;
        checks.push([
          `PostgreSQL, ${scenario}, 64 conns: throughput vs baseline >= ${min}`,
          fmt(ratio, 2),
          verdict(ratio >= min),
        ]);
        checks.push([
          `PostgreSQL, ${scenario}, 64 conns: p99 no worse than baseline`,
          `${s.p99} vs ${b.p99} ms`,
          verdict(s.p99 <= b.p99),
        ]);
      }
    }
  }
  if (cmpRows.length > 0) {
    out.push('', '### Sealnote on PostgreSQL relative to the baseline', '');
    out.push(
      table(
        [
          'scenario',
          'conns',
          'Sealnote req/s',
          'baseline req/s',
          'ratio',
          'Sealnote p99 ms (rounds)',
          'baseline p99 ms (rounds)',
          'p99 ratio',
          'server CPU ms/req (Sealnote / baseline)',
        ],
        cmpRows,
      ),
    );
  }
  const fixedRows: string[][] = [];
  for (const scenario of ['create', 'read'] as const) {
    const s = results.get(fixedRateKey('postgres', scenario));
    const b = results.get(fixedRateKey('baseline', scenario));
    if (s === undefined || b === undefined) continue;
    fixedRows.push([
      scenario,
      `${fmt(s.rps, 0)} / ${fmt(b.rps, 0)}`,
      `${s.p50} / ${b.p50}`,
      `${s.p99} / ${b.p99}`,
    ]);
  }
  if (fixedRows.length > 0) {
    out.push(
      '',
      '### PostgreSQL at one offered rate (64 connections; not a target, a diagnosis)',
      '',
      table(['scenario', 'req/s served (Sealnote / baseline)', 'p50 ms', 'p99 ms'], fixedRows),
    );
  }
  if (rss.postgres !== undefined) {
    checks.push([
      `PostgreSQL: RSS under load < ${TARGETS.rssPostgresMb} MB`,
      `${fmt(rss.postgres.peakMb, 0)} MB`,
      verdict(
        rss.postgres.peakMb === undefined ? undefined : rss.postgres.peakMb < TARGETS.rssPostgresMb,
      ),
    ]);
  }
  if (rss.embedded !== undefined) {
    checks.push([
      `embedded: RSS under load < ${TARGETS.rssEmbeddedMb} MB`,
      `${fmt(rss.embedded.peakMb, 0)} MB`,
      verdict(
        rss.embedded.peakMb === undefined ? undefined : rss.embedded.peakMb < TARGETS.rssEmbeddedMb,
      ),
    ]);
  }
  out.push('', '### Targets', '', table(['target', 'figure', 'verdict'], checks), '');
  console.log(out.join('\n'));
}
