import type { Kysely } from "kysely";
import type { DB } from "../store/schema.js";
import { GENESIS_HASH } from "../store/genesis.js";
import { chainHash } from "./chain.js";

export type ChainProblem =
  | "hash_mismatch" // the entry's content no longer matches its hash: edited
  | "broken_link" // prev_hash is not the previous entry's hash: deleted, inserted or reordered
  | "sequence_gap" // seq does not follow the previous entry's seq
  | "head_mismatch"; // the last entry is not the recorded head: the tail was cut or forged

export interface ChainIssue {
  seq: number;
  id: string | null;
  problem: ChainProblem;
}

export interface ChainReport {
  ok: boolean;
  entries: number;
  head_seq: number;
  head_hash: string;
  issues: ChainIssue[];
  /** True when more issues exist than were listed. */
  truncated: boolean;
}

const PAGE = 2000;
const MAX_ISSUES = 100;

/**
 * Walks the whole log in seq order and checks each entry on its own (content vs. hash, link to
 * the previous entry, seq continuity), so a report names every tampered place, not just the
 * first; then checks the last entry against the head row.
 */
export async function verifyAuditChain(db: Kysely<DB>): Promise<ChainReport> {
  const issues: ChainIssue[] = [];
  let truncated = false;
  const note = (issue: ChainIssue): void => {
    if (issues.length < MAX_ISSUES) issues.push(issue);
    else truncated = true;
  };
  let prevHash = GENESIS_HASH;
  let prevSeq = 0;
  let entries = 0;
  let after = -1;
  for (;;) {
    const rows = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("seq", ">", after)
      .orderBy("seq")
      .limit(PAGE)
      .execute();
    for (const row of rows) {
      entries++;
      if (row.seq !== prevSeq + 1) note({ seq: row.seq, id: row.id, problem: "sequence_gap" });
      if (row.prev_hash !== prevHash) note({ seq: row.seq, id: row.id, problem: "broken_link" });
      if (chainHash(row.prev_hash, row) !== row.hash)
        note({ seq: row.seq, id: row.id, problem: "hash_mismatch" });
      prevHash = row.hash;
      prevSeq = row.seq;
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1]!.seq;
  }
  const head = await db
    .selectFrom("audit_head")
    .select(["seq", "hash"])
    .where("id", "=", 1)
    .executeTakeFirst();
  if (!head || head.seq !== prevSeq || head.hash !== prevHash) {
    note({ seq: head?.seq ?? prevSeq, id: null, problem: "head_mismatch" });
  }
  return {
    ok: issues.length === 0,
    entries,
    head_seq: head?.seq ?? 0,
    head_hash: head?.hash ?? "",
    issues,
    truncated,
  };
}
