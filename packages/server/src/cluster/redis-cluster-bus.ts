import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type BusMetrics, type ClusterBus, deliverPayload } from './cluster-bus.js';
import { DropReporter } from './drop-reporter.js';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_BYTES, InFlightCap } from './in-flight-cap.js';
import { closeRedis, openSubscriber, writeOrDrop } from './redis-connection.js';

export interface RedisClusterBusOptions {
  /** Prepended to every channel, so several clusters (or test runs) can share one Redis. */
  prefix: string;
  /** Publishes awaiting Redis's answer beyond which new ones are dropped (a slow or stuck Redis). */
  maxInFlight?: number;
}

/**
 * ClusterBus over Redis pub/sub: node N's topic is the channel `<prefix>bus:<N>`. Pub/sub keeps
 * nothing and may drop, which the port allows; what this adapter adds is that it never waits for
 * Redis: a publish while the connection is down, or with too many answers outstanding, is dropped
 * and counted at once.
 */
export class RedisClusterBus implements ClusterBus {
  private readonly drops: DropReporter;
  private readonly cap: InFlightCap;
  private subscriber: Redis | undefined;

  constructor(
    private readonly client: Redis,
    private readonly options: RedisClusterBusOptions,
    private readonly metrics: BusMetrics,
    private readonly log: Logger,
  ) {
    this.drops = new DropReporter(metrics.busDropped, log, 'bus message');
    this.cap = new InFlightCap(options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_BYTES);
  }

  publish(nodeId: string, payload: string): void {
    void writeOrDrop(
      this.client,
      this.cap,
      this.drops,
      async () => {
        const receivers = await this.client.publish(this.channelOf(nodeId), payload);
        if (receivers === 0) this.drops.drop('no_subscriber');
        else this.metrics.busPublished.inc();
      },
      payload.length,
    );
  }

  async subscribe(ownNodeId: string, handler: (payload: string) => void): Promise<void> {
    if (this.subscriber) throw new Error('This bus is already subscribed.');
    const channel = this.channelOf(ownNodeId);
    this.subscriber = await openSubscriber(this.client, this.log);
    this.subscriber.on('message', (from: string, payload: string) => {
      if (from === channel) deliverPayload(handler, payload, this.metrics, this.drops);
    });
    await this.subscriber.subscribe(channel);
  }

  /** Closes the subscriber; the command connection belongs to whoever passed it in. */
  async close(): Promise<void> {
    if (this.subscriber) await closeRedis(this.subscriber);
  }

  private channelOf(nodeId: string): string {
    return `${this.options.prefix}bus:${nodeId}`;
  }
}
