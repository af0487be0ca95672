import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { describe, expect, it } from "vitest";
import { preparedRowStatement, type RowColumns } from "./prepared-row.js";

interface T {
  t: { a: string; b: number; c: string | null };
}
type Row = T["t"];
const COLUMNS: RowColumns<Row> = { a: true, b: true, c: true };

function setup() {
  const sqlite = new SQLite(":memory:");
  sqlite.exec("create table t (a text primary key, b integer not null, c text)");
  const db = new Kysely<T>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { sqlite, db };
}

describe("preparedRowStatement", () => {
  it("binds each row's values to the placeholders their columns compiled to, in any order", () => {
    const { sqlite, db } = setup();
    // Columns listed in an order unlike the table's, and an upsert that uses one of them twice.
    const upsert = preparedRowStatement<Row>(sqlite, { c: true, b: true, a: true }, (row) =>
      db
        .insertInto("t")
        .values(row)
        .onConflict((oc) => oc.column("a").doUpdateSet({ b: (eb) => eb("t.b", "+", eb.ref("excluded.b")) })),
    );
    expect(upsert({ a: "x", b: 2, c: null }).changes).toBe(1);
    upsert({ a: "y", b: 5, c: "note" });
    upsert({ a: "x", b: 3, c: "ignored on conflict" });
    expect(sqlite.prepare("select * from t order by a").all()).toEqual([
      { a: "x", b: 5, c: null },
      { a: "y", b: 5, c: "note" },
    ]);
  });

  it("reports whether a row was written (ON CONFLICT DO NOTHING)", () => {
    const { sqlite, db } = setup();
    const insert = preparedRowStatement(sqlite, COLUMNS, (row) =>
      db
        .insertInto("t")
        .values(row)
        .onConflict((oc) => oc.column("a").doNothing()),
    );
    expect(insert({ a: "x", b: 1, c: null }).changes).toBe(1);
    expect(insert({ a: "x", b: 2, c: null }).changes).toBe(0);
  });

  it("refuses, at setup, a query that binds a value that is not one of the row's columns", () => {
    const { sqlite, db } = setup();
    expect(() =>
      preparedRowStatement(sqlite, COLUMNS, (row) => db.insertInto("t").values({ ...row, b: 7 })),
    ).toThrow(/parameter 7 is not a column/);
  });
});
