import { readFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { ApnsProvider } from './apns-provider.js';
import { FcmProvider } from './fcm-provider.js';
import { Http2Origins } from './http2-json.js';
import type { PushProvider, PushProviderName } from './push-provider.js';
import { WebPushProvider } from './web-push-provider.js';

/** The providers whose credentials are configured; one without credentials is off. */
export function pushProvidersOf(
  config: Config,
  /** Connections to the push services (tests pass one that trusts their local service). */
  agent: Agent | undefined,
  clock: Clock,
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
  if (config.pushFcmServiceAccountFile !== undefined) {
    const account = serviceAccountOf(config.pushFcmServiceAccountFile);
    providers.set(
      'fcm',
      new FcmProvider(
        {
          projectId: account.project_id,
          clientEmail: account.client_email,
          privateKey: account.private_key,
          tokenUri: account.token_uri ?? 'https://oauth2.googleapis.com/token',
          apiOrigin: 'https://fcm.googleapis.com',
        },
        new Http2Origins(),
        clock,
      ),
    );
  }
  const {
    pushApnsKeyFile: keyFile,
    pushApnsKeyId: keyId,
    pushApnsTeamId: teamId,
    pushApnsTopic: topic,
  } = config;
  // resolveConfig refuses a key file without the other three; this narrows the types.
  if (keyFile !== undefined && keyId !== undefined && teamId !== undefined && topic !== undefined) {
    providers.set(
      'apns',
      new ApnsProvider(
        {
          privateKey: readFileSync(keyFile, 'utf8'),
          keyId,
          teamId,
          topic,
          origin: config.pushApnsSandbox
            ? 'https://api.sandbox.push.apple.com'
            : 'https://api.push.apple.com',
          ttlSeconds: Math.ceil(config.pushTtlMs / 1000),
        },
        new Http2Origins(),
        clock,
      ),
    );
  }
  return providers;
}

interface ServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  token_uri?: string;
}

/** Reads the key file at start, so a wrong path or file stops the server with a clear message. */
function serviceAccountOf(path: string): ServiceAccount {
  const account = JSON.parse(readFileSync(path, 'utf8')) as Partial<ServiceAccount>;
  for (const field of ['project_id', 'client_email', 'private_key'] as const) {
    if (typeof account[field] !== 'string') {
      throw new Error(
        `NATTER_PUSH_FCM_SERVICE_ACCOUNT_FILE: ${path} has no ${field}; use the service account's JSON key.`,
      );
    }
  }
  return account as ServiceAccount;
}
