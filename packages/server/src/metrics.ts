import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus metric Natter exports, on a registry of its own (several servers can live in
 * one process, as they do in tests). docs/operations.md describes each.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly connections = new Gauge({
    name: 'natter_connections',
    help: 'Open WebSocket connections by state.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly framesIn = new Counter({
    name: 'natter_frames_in_total',
    help: 'Frames received from clients, by frame type (invalid for frames that failed validation).',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly framesOut = new Counter({
    name: 'natter_frames_out_total',
    help: 'Frames written to client sockets.',
    registers: [this.registry],
  });
  readonly pushes = new Counter({
    name: 'natter_pushes_total',
    help: 'Push notifications by provider and outcome (sent; failed: retried later; dropped: expired, muted meanwhile, token gone).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly webhooks = new Counter({
    name: 'natter_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered; retried: failed, due again later; failed: given up).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly sends = new Counter({
    name: 'natter_sends_total',
    help: 'Message, edit and delete requests by outcome (stored, duplicate, rejected).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly ackLatency = new Histogram({
    name: 'natter_ack_latency_seconds',
    help: 'From a send frame arriving to its ack being written (includes the group commit).',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly readLatency = new Histogram({
    name: 'natter_read_seconds',
    help: 'From a read frame (sync, fetch, history, thread_history, search) arriving to its answer being written, by frame type.',
    labelNames: ['type'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly commitBatchSize = new Histogram({
    name: 'natter_commit_batch_size',
    help: 'Write ops committed per transaction (group commit).',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [this.registry],
  });
  readonly commitSeconds = new Histogram({
    name: 'natter_commit_flush_seconds',
    help: 'Time one group-commit transaction takes, fsync included.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 1],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'natter_errors_total',
    help: 'Errors returned to clients, by catalogue code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly closes = new Counter({
    name: 'natter_closes_total',
    help: 'Connections closed, by close code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly busPublished = new Counter({
    name: 'natter_bus_published_total',
    help: 'Messages this node published on the cluster bus that reached a subscribed node.',
    registers: [this.registry],
  });
  readonly busReceived = new Counter({
    name: 'natter_bus_received_total',
    help: 'Messages this node received from the cluster bus.',
    registers: [this.registry],
  });
  readonly busDropped = new Counter({
    name: 'natter_bus_dropped_total',
    help: 'Cluster bus messages given up, by reason; clients heal by their change token.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly presenceDropped = new Counter({
    name: 'natter_presence_dropped_total',
    help: 'Presence writes lost to an unreachable presence backend (the next beat repairs them).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly registryDropped = new Counter({
    name: 'natter_registry_dropped_total',
    help: 'Connection registry writes lost to an unreachable backend (the next refresh repairs them).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
