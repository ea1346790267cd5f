import type { Agent } from 'node:https';
import type { Config } from '../config.js';
import type { PushProvider, PushProviderName } from './push-provider.js';
import { WebPushProvider } from './web-push-provider.js';

/** The providers whose credentials are configured; one without credentials is off. */
export function pushProvidersOf(
  config: Config,
  /** Connections to the push services (tests pass one that trusts their local service). */
  agent?: Agent,
): Map<PushProviderName, PushProvider> {
  const providers = new Map<PushProviderName, PushProvider>();
  if (config.pushVapidPublicKey !== undefined && config.pushVapidPrivateKey !== undefined) {
    providers.set(
      'webpush',
      new WebPushProvider(
        {
          publicKey: config.pushVapidPublicKey,
          privateKey: config.pushVapidPrivateKey,
          subject: config.pushVapidSubject,
          ttlSeconds: Math.ceil(config.pushTtlMs / 1000),
        },
        agent,
      ),
    );
  }
  return providers;
}
