/**
 * A small Prometheus registry: counters, histograms and callback gauges, rendered in the text
 * exposition format. Label values are joined into one map key, so an observation on the hot
 * path is a Map lookup and a few additions.
 */
interface Metric {
  render(): string;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: string[]; value: number }>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[] = [],
  ) {}

  inc(labels: readonly string[] = [], by = 1): void {
    const key = labels.join("\u0000");
    const slot = this.values.get(key);
    if (slot) slot.value += by;
    else this.values.set(key, { labels: [...labels], value: by });
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values())
      lines.push(`${this.name}${labelText(this.labelNames, labels)} ${value}`);
    return lines.join("\n");
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<
    string,
    { labels: string[]; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
    private readonly labelNames: readonly string[] = [],
  ) {}

  observe(value: number, labels: readonly string[] = []): void {
    const key = labels.join("\u0000");
    let s = this.series.get(key);
    if (!s)
      this.series.set(
        key,
        (s = {
          labels: [...labels],
          counts: new Array<number>(this.buckets.length).fill(0),
          sum: 0,
          count: 0,
        }),
      );
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) =>
        lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, `le="${b}"`)} ${s.counts[i]}`),
      );
      lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, 'le="+Inf"')} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(this.labelNames, s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, s.labels)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** A gauge read at scrape time (cache sizes, queue depths, ratios). */
export class CallbackGauge implements Metric {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly read: () => number,
  ) {}
  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${this.read()}`;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<T extends Metric>(m: T): T {
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join("\n") + "\n";
  }
}
