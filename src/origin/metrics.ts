/** Prometheus text exposition for the counters we keep. */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private bytesOut = 0;
  private readonly gauges = new Map<string, () => number>();

  private static readonly BUCKETS_SEC = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  private readonly latency = new Map<string, { counts: number[]; sum: number; n: number }>();

  /** Response time of one request, by route kind (a Prometheus histogram). */
  observe(routeKind: string, seconds: number): void {
    let h = this.latency.get(routeKind);
    if (!h) {
      h = { counts: Metrics.BUCKETS_SEC.map(() => 0), sum: 0, n: 0 };
      this.latency.set(routeKind, h);
    }
    const i = Metrics.BUCKETS_SEC.findIndex((b) => seconds <= b);
    if (i >= 0) h.counts[i]++;
    h.sum += seconds;
    h.n++;
  }

  request(routeKind: string, status: number, bytes: number): void {
    const k = `${routeKind}|${status}`;
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
    if (Number.isFinite(bytes)) this.bytesOut += bytes;
  }

  private readonly counters = new Map<string, { help: string; value: number }>();

  /** A named monotonic counter (created once, shared by name). */
  counter(name: string, help: string): { inc(n?: number): void; get(): number } {
    let c = this.counters.get(name);
    if (!c) {
      c = { help, value: 0 };
      this.counters.set(name, c);
    }
    const ref = c;
    return { inc: (n = 1) => void (ref.value += n), get: () => ref.value };
  }

  private readonly labelled = new Map<string, { help: string; values: Map<string, number> }>();

  /** A counter family with labels, e.g. cascade_push_objects_total{edge="a",result="done"}. */
  family(name: string, help: string): { inc(labels: Record<string, string>, n?: number): void } {
    let f = this.labelled.get(name);
    if (!f) this.labelled.set(name, (f = { help, values: new Map() }));
    const ref = f;
    return {
      inc: (labels, n = 1) => {
        const k = labelText(labels);
        ref.values.set(k, (ref.values.get(k) ?? 0) + n);
      },
    };
  }

  private readonly gaugeFamilies = new Map<string, { help: string; fn: () => Array<[Record<string, string>, number]> }>();

  /** Gauges with labels, read at scrape time. */
  gaugeFamily(name: string, help: string, fn: () => Array<[Record<string, string>, number]>): void {
    this.gaugeFamilies.set(name, { help, fn });
  }

  gauge(name: string, fn: () => number): void {
    this.gauges.set(name, fn);
  }

  render(): string {
    const lines = ['# HELP cascade_http_requests_total HTTP requests by route kind and status', '# TYPE cascade_http_requests_total counter'];
    for (const [k, n] of [...this.requests.entries()].sort()) {
      const [kind, status] = k.split('|');
      lines.push(`cascade_http_requests_total{route="${kind}",status="${status}"} ${n}`);
    }
    lines.push('# HELP cascade_http_response_bytes_total Bytes sent in response bodies (by Content-Length)', '# TYPE cascade_http_response_bytes_total counter', `cascade_http_response_bytes_total ${this.bytesOut}`);
    lines.push('# HELP cascade_http_request_duration_seconds Time to the last byte handed to the socket', '# TYPE cascade_http_request_duration_seconds histogram');
    for (const [kind, h] of [...this.latency.entries()].sort()) {
      let cumulative = 0;
      Metrics.BUCKETS_SEC.forEach((b, i) => {
        cumulative += h.counts[i];
        lines.push(`cascade_http_request_duration_seconds_bucket{route="${kind}",le="${b}"} ${cumulative}`);
      });
      lines.push(`cascade_http_request_duration_seconds_bucket{route="${kind}",le="+Inf"} ${h.n}`);
      lines.push(`cascade_http_request_duration_seconds_sum{route="${kind}"} ${h.sum}`, `cascade_http_request_duration_seconds_count{route="${kind}"} ${h.n}`);
    }
    for (const [name, c] of this.counters) lines.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`, `${name} ${c.value}`);
    for (const [name, f] of this.labelled) {
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} counter`);
      for (const [k, v] of [...f.values.entries()].sort()) lines.push(`${name}{${k}} ${v}`);
    }
    for (const [name, g] of this.gaugeFamilies) {
      lines.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`);
      for (const [labels, v] of g.fn()) lines.push(`${name}{${labelText(labels)}} ${v}`);
    }
    for (const [name, fn] of this.gauges) lines.push(`# TYPE ${name} gauge`, `${name} ${fn()}`);
    return lines.join('\n') + '\n';
  }
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([l, v]) => `${l}="${v.replace(/["\\\n]/g, '_')}"`)
    .join(',');
}
