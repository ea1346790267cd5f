import { describe, expect, it } from 'vitest';
import { connectionStatus } from '../src/connection-status.js';

describe('connectionStatus', () => {
  it('says what the chat header shows for each client state, and nothing while live', () => {
    expect(connectionStatus('live')).toBeNull();
    expect(connectionStatus('offline')).toBe('Waiting for network…');
    expect(connectionStatus('closed')).toBe('Waiting for network…');
    expect(connectionStatus('connecting')).toBe('Connecting…');
    expect(connectionStatus('open')).toBe('Connecting…');
    expect(connectionStatus('syncing')).toBe('Updating…');
  });
});
