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
  /** Server process CPU use during the measured phase, in cores (1.0 = one core busy). */
  cores: number | undefined;
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

export function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
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
        String(s.p99),
        String(b.p99),
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
          'Sealnote p99 ms',
          'baseline p99 ms',
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
