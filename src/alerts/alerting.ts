import { every } from "../core/background.js";
import type { Clock } from "../core/clock.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { errorSummary, type Logger } from "../log/logger.js";
import type { Database } from "../store/database.js";
import type { AnomalySettings } from "./anomaly.js";
import { AnomalySweep } from "./anomaly-sweep.js";
import { WebhookDispatcher, type DispatchStats } from "./dispatcher.js";
import { AlertOutbox } from "./outbox.js";
import { PolicySweep } from "./policy-sweep.js";
import { fetchSender, type WebhookSender } from "./sender.js";
import { AlertSweeper, type SweepStats } from "./sweeper.js";
import { AuditTailer } from "./tailer.js";
import { WebhookService } from "./webhook-service.js";

/** Timings and thresholds of alerting (from the configuration). */
export interface AlertingOptions {
  /** Emitted alerts are written to the outbox at least this often. */
  flushMs: number;
  /** Outbox delivery and audit tailing interval; 0 = no background loop (call `runOnce`). */
  dispatchMs: number;
  /** Policy and anomaly sweep interval; 0 = no background sweep. */
  sweepMs: number;
  /** Bound on one webhook HTTP attempt. */
  webhookTimeoutMs: number;
  anomaly: AnomalySettings;
  sender?: WebhookSender;
}

/** What alerting needs from the rest of the application. */
export interface AlertingDeps {
  store: Database;
  clock: Clock;
  box: SecretBox;
  /** Drops a key from the verify cache (after the policy expired it). */
  invalidateKey: (keyId: string) => void;
  logger: Logger;
}

/**
 * Alerting, wired: the sink everyone emits into, the webhook service, and the workers that
 * move alerts from the audit log, the policies and the sink to the receivers. Built once by
 * createContext; `start` launches the timers and `close` stops them and writes what is queued.
 */
export class Alerting {
  readonly sink: AlertOutbox;
  readonly webhooks: WebhookService;
  readonly tailer: AuditTailer;
  readonly sweeper: AlertSweeper;
  readonly dispatcher: WebhookDispatcher;
  private stopLoop: (() => void) | undefined;
  private waking = false;
  private closed = false;
  private readonly onError: (what: string, err: unknown) => void;

  constructor(
    private readonly deps: AlertingDeps,
    private readonly options: AlertingOptions,
  ) {
    const { store, clock, box, logger } = deps;
    const onError = (what: string, err: unknown) =>
      logger.warn({ err: errorSummary(err) }, `${what} failed; will retry`);
    this.onError = onError;
    this.dispatcher = new WebhookDispatcher(
      store,
      clock,
      box,
      options.sender ?? fetchSender,
      { timeoutMs: options.webhookTimeoutMs },
      (err) => onError("webhook delivery", err),
    );
    const wake = () => this.wake();
    this.sink = new AlertOutbox(
      store,
      clock,
      options.flushMs,
      (err) => onError("alert outbox write", err),
      wake,
    );
    this.tailer = new AuditTailer(store, clock, wake);
    this.sweeper = new AlertSweeper(
      store,
      clock,
      new PolicySweep(store, deps.invalidateKey),
      new AnomalySweep(store, options.anomaly),
      (err) => onError("alert sweep", err),
    );
    this.webhooks = new WebhookService(store, clock, box, this.dispatcher);
  }

  /**
   * Starts the timers. First, webhook secrets still under the previous master key (during a
   * master key change) are re-sealed under the current one, so retiring the old key is safe.
   */
  async start(): Promise<void> {
    const { logger } = this.deps;
    try {
      const r = await this.webhooks.reencrypt();
      if (r.rotated)
        logger.info({ rotated: r.rotated }, "re-encrypted webhook secrets under the current master key");
      if (r.unreadable.length)
        logger.warn(
          { webhooks: r.unreadable },
          "webhook secrets under an unknown master key: their deliveries fail",
        );
    } catch (err) {
      this.onError("re-encrypting webhook secrets", err);
    }
    this.sink.start();
    this.sweeper.start(this.options.sweepMs);
    if (this.options.dispatchMs > 0) {
      this.stopLoop = every(this.options.dispatchMs, () => void this.tick());
    }
  }

  /** Everything once, in order: queued alerts → audit entries → policies → deliveries. For tests and tools. */
  async runOnce(): Promise<{ tailed: number; sweep: SweepStats; dispatch: DispatchStats }> {
    await this.sink.flush();
    const tailed = await this.tailer.runOnce();
    const sweep = await this.sweeper.runOnce();
    const dispatch = await this.dispatcher.runOnce();
    return { tailed, sweep, dispatch };
  }

  /** One background round: forward new audit entries, then deliver what is due. */
  private async tick(): Promise<void> {
    try {
      await this.tailer.runOnce();
    } catch (err) {
      this.onError("audit tailer", err);
    }
    try {
      await this.dispatcher.runOnce();
    } catch (err) {
      this.onError("webhook dispatch", err);
    }
  }

  /** New alerts were recorded: deliver them now rather than at the next tick (background mode only). */
  private wake(): void {
    if (this.options.dispatchMs <= 0 || this.waking || this.closed) return;
    this.waking = true;
    setImmediate(() => {
      this.waking = false;
      if (this.closed) return;
      void this.dispatcher.runOnce().catch((err: unknown) => this.onError("webhook dispatch", err));
    });
  }

  /** Stops the timers, writes queued alerts and waits for deliveries in flight. */
  async close(): Promise<void> {
    this.stopLoop?.();
    await this.sweeper.stop();
    // Queued alerts are written (durable in the outbox) but not delivered now: the next start does.
    this.closed = true;
    await this.sink.close();
    await this.dispatcher.stop();
  }
}
