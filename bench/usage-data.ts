/**
 * Synthetic usage events for `usage-bench.ts`: a seeded generator (the same events on every
 * dialect and every run) and the two bulk loaders — better-sqlite3 prepared statements in large
 * transactions, and PostgreSQL multi-row INSERTs from `unnest` of column arrays (16 array
 * parameters per 50,000 rows: close to COPY speed, no extra dependency).
 */
import SQLite from "better-sqlite3";
import pg from "pg";
import { PriceTable } from "../src/usage/pricing.js";

export const MODELS = [
  "gpt-4o-mini",
  "gpt-4o",
  "gpt-4.1",
  "gpt-4.1-mini",
  "gpt-5-mini",
  "o4-mini",
  "gpt-3.5-turbo",
  "text-embedding-3-small",
] as const;

export interface DataShape {
  events: number;
  /** Events are spread evenly over [end - days, end), in time order, like an append-only log. */
  days: number;
  end: number;
  keys: Array<{ id: string; projectId: string }>;
  seed: number;
}

/** A column batch of usage_events, in table column order. */
export interface EventColumns {
  request_id: string[];
  ts: number[];
  key_id: string[];
  project_id: string[];
  method: string[];
  endpoint: string[];
  model: string[];
  status: number[];
  streamed: number[];
  prompt_tokens: number[];
  completion_tokens: number[];
  cached_tokens: number[];
  cost_micros: number[];
  latency_ms: number[];
  client_ip: Array<string | null>;
  upstream_id: Array<string | null>;
}

const COLUMNS = [
  "request_id",
  "ts",
  "key_id",
  "project_id",
  "method",
  "endpoint",
  "model",
  "status",
  "streamed",
  "prompt_tokens",
  "completion_tokens",
  "cached_tokens",
  "cost_micros",
  "latency_ms",
  "client_ip",
  "upstream_id",
] as const satisfies ReadonlyArray<keyof EventColumns>;

/** mulberry32: small, fast, seeded; the data set is reproducible bit for bit. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = "0123456789abcdef";

/**
 * The events in batches of `batch`, as columns. Uniform over keys and models (the worst case for
 * rollups: nearly every key × model × hour cell is occupied); 97% status 200, 2% 429, 1% 500;
 * tokens and cost (from the default price table) vary per request; request ids are random UUIDs
 * like the gateway's.
 */
export function* eventBatches(shape: DataShape, batch: number): Generator<EventColumns> {
  const rnd = prng(shape.seed);
  const prices = PriceTable.load(undefined);
  const span = shape.days * 86_400_000;
  const start = shape.end - span;
  const uuid = () => {
    let s = "";
    for (let i = 0; i < 32; i++) s += HEX[(rnd() * 16) | 0];
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  };
  for (let from = 0; from < shape.events; from += batch) {
    const n = Math.min(batch, shape.events - from);
    const c: EventColumns = {
      request_id: [],
      ts: [],
      key_id: [],
      project_id: [],
      method: [],
      endpoint: [],
      model: [],
      status: [],
      streamed: [],
      prompt_tokens: [],
      completion_tokens: [],
      cached_tokens: [],
      cost_micros: [],
      latency_ms: [],
      client_ip: [],
      upstream_id: [],
    };
    for (let i = from; i < from + n; i++) {
      const key = shape.keys[(rnd() * shape.keys.length) | 0]!;
      const model = MODELS[(rnd() * MODELS.length) | 0]!;
      const embedding = model.startsWith("text-embedding");
      const r = rnd();
      const status = r < 0.97 ? 200 : r < 0.99 ? 429 : 500;
      const prompt = status === 200 ? 50 + ((rnd() * 4000) | 0) : 0;
      const completion = status === 200 && !embedding ? 10 + ((rnd() * 1000) | 0) : 0;
      const cached = rnd() < 0.3 ? (rnd() * prompt * 0.5) | 0 : 0;
      c.request_id.push(uuid());
      c.ts.push(start + Math.floor((i * span) / shape.events));
      c.key_id.push(key.id);
      c.project_id.push(key.projectId);
      c.method.push("POST");
      c.endpoint.push(embedding ? "/v1/embeddings" : "/v1/chat/completions");
      c.model.push(model);
      c.status.push(status);
      c.streamed.push(rnd() < 0.4 ? 1 : 0);
      c.prompt_tokens.push(prompt);
      c.completion_tokens.push(completion);
      c.cached_tokens.push(cached);
      c.cost_micros.push(prices.costMicros(model, { prompt, completion, cached }));
      c.latency_ms.push(100 + ((rnd() * 3000) | 0));
      c.client_ip.push(`10.0.${(rnd() * 4) | 0}.${1 + ((rnd() * 250) | 0)}`);
      c.upstream_id.push(null);
    }
    yield c;
  }
}

/** Progress callback: events loaded so far. */
export type Progress = (loaded: number) => void;

/**
 * Loads into SQLite through its own connection: one prepared INSERT, 200,000 rows per
 * transaction, `synchronous = OFF` for the load only (the server's connection keeps FULL).
 */
export function loadSqlite(file: string, shape: DataShape, progress: Progress): void {
  const db = new SQLite(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = OFF");
    db.pragma("cache_size = -1000000");
    const insert = db.prepare(
      `insert into usage_events (${COLUMNS.join(", ")}) values (${COLUMNS.map(() => "?").join(", ")})`,
    );
    const write = db.transaction((c: EventColumns) => {
      for (let i = 0; i < c.ts.length; i++) insert.run(...COLUMNS.map((col) => c[col][i] ?? null));
    });
    let loaded = 0;
    for (const c of eventBatches(shape, 200_000)) {
      write(c);
      progress((loaded += c.ts.length));
    }
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}

const PG_TYPES: Record<(typeof COLUMNS)[number], string> = {
  request_id: "text",
  ts: "int8",
  key_id: "text",
  project_id: "text",
  method: "text",
  endpoint: "text",
  model: "text",
  status: "int4",
  streamed: "int4",
  prompt_tokens: "int8",
  completion_tokens: "int8",
  cached_tokens: "int8",
  cost_micros: "int8",
  latency_ms: "int4",
  client_ip: "text",
  upstream_id: "text",
};

/** Loads into PostgreSQL (`schema`): one `insert … select from unnest($1::text[], …)` per 50,000 rows. */
export async function loadPostgres(
  url: string,
  schema: string,
  shape: DataShape,
  progress: Progress,
): Promise<void> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    // The load is a bulk import, not live traffic: no need to wait for WAL flushes per batch.
    await client.query("set synchronous_commit = off");
    const text = `insert into usage_events (${COLUMNS.join(", ")}) select * from unnest(${COLUMNS.map(
      (c, i) => `$${i + 1}::${PG_TYPES[c]}[]`,
    ).join(", ")})`;
    let loaded = 0;
    for (const c of eventBatches(shape, 50_000)) {
      await client.query(
        text,
        COLUMNS.map((col) => c[col]),
      );
      progress((loaded += c.ts.length));
    }
  } finally {
    await client.end();
  }
}
