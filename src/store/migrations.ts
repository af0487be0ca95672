import type { Migration, MigrationProvider } from "kysely";
import { core } from "./migrations/0001_core.js";
import { gateway } from "./migrations/0002_gateway.js";
import { limits } from "./migrations/0003_limits.js";
import { alerts } from "./migrations/0004_alerts.js";
import { usageRollups } from "./migrations/0005_usage_rollups.js";
import { leaks } from "./migrations/0006_leaks.js";
import { keyIpsAtWrite } from "./migrations/0007_key_ips_at_write.js";
import { ephemeralKeys } from "./migrations/0008_ephemeral_keys.js";
import { trustPolicies } from "./migrations/0009_trust_policies.js";
import { secretDestinations } from "./migrations/0010_secret_destinations.js";
import { replicas } from "./migrations/0011_replicas.js";
import { people } from "./migrations/0012_people.js";
import { budgetLedger } from "./migrations/0013_budget_ledger.js";
import { consoleIndexes } from "./migrations/0014_console_indexes.js";
import { loginFailures } from "./migrations/0015_login_failures.js";
import { usageKeySpans } from "./migrations/0016_usage_key_spans.js";
import { leakReportOutcome } from "./migrations/0017_leak_report_outcome.js";
import { pgBigintSum } from "./migrations/0018_pg_bigint_sum.js";

/**
 * Versioned migrations, one file each, written with Kysely's schema builder so SQLite and
 * PostgreSQL get the same tables. Never edit a shipped migration: add the next one.
 */
const migrations: Record<string, Migration> = {
  "0001_core": core,
  "0002_gateway": gateway,
  "0003_limits": limits,
  "0004_alerts": alerts,
  "0005_usage_rollups": usageRollups,
  "0006_leaks": leaks,
  "0007_key_ips_at_write": keyIpsAtWrite,
  "0008_ephemeral_keys": ephemeralKeys,
  "0009_trust_policies": trustPolicies,
  "0010_secret_destinations": secretDestinations,
  "0011_replicas": replicas,
  "0012_people": people,
  "0013_budget_ledger": budgetLedger,
  "0014_console_indexes": consoleIndexes,
  "0015_login_failures": loginFailures,
  "0016_usage_key_spans": usageKeySpans,
  "0017_leak_report_outcome": leakReportOutcome,
  "0018_pg_bigint_sum": pgBigintSum,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
