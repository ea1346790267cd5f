import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AttachmentService } from '../../src/attachments/attachment-service.js';
import { FileBlobStore } from '../../src/attachments/file-blob-store.js';
import { PNG_3X2 } from '../helpers/images.js';
import { ManualClock } from '../helpers/manual-clock.js';

const GRACE_MS = 60_000;
const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function setUp() {
  const root = await mkdtemp(join(tmpdir(), 'natter-gc-'));
  roots.push(root);
  const clock = new ManualClock();
  const blobs = new FileBlobStore(root);
  const service = new AttachmentService(
    blobs,
    {
      attachmentMaxBytes: 1024,
      attachmentQuotaBytes: 1024,
      attachmentTypes: ['image/*'],
      attachmentUrlTtlMs: 1000,
      attachmentGraceMs: GRACE_MS,
    },
    clock,
    'gc-test-signing-key-0123456789',
  );
  const uploaded = async (userId: string) => {
    const ticket = await service.createUpload(userId, {
      name: 'a.png',
      type: 'image/png',
      size: PNG_3X2.byteLength,
    });
    const url = new URL(ticket.upload_url, 'http://x');
    await service.receive(
      ticket.id,
      url.searchParams.get('expires')!,
      url.searchParams.get('signature')!,
      PNG_3X2,
    );
    return ticket.id;
  };
  return { clock, blobs, service, uploaded };
}

describe('attachment garbage collection', () => {
  it('collects uploads never referenced once the grace period has passed, and keeps referenced ones', async () => {
    const { clock, blobs, service, uploaded } = await setUp();
    const orphan = await uploaded('alice');
    const kept = await uploaded('alice');
    await service.referenced([kept], 'conv', 2);
    await clock.advance(GRACE_MS - 1);
    expect(await service.collectGarbage()).toEqual([]);
    await clock.advance(1);
    expect(await service.collectGarbage()).toEqual([orphan]);
    expect(await blobs.get(`blob/${orphan}`)).toBeNull();
    expect(await blobs.get(`blob/${kept}`)).not.toBeNull();
  });

  it("collects a deleted message's media a grace period after the delete", async () => {
    const { clock, blobs, service, uploaded } = await setUp();
    const media = await uploaded('bob');
    await service.referenced([media], 'conv', 5);
    await clock.advance(GRACE_MS * 3);
    expect(await service.collectGarbage()).toEqual([]);
    await service.messageDeleted('conv', 5);
    await clock.advance(GRACE_MS - 1);
    expect(await service.collectGarbage()).toEqual([]);
    await clock.advance(1);
    expect(await service.collectGarbage()).toEqual([media]);
    expect(await blobs.get(`blob/${media}`)).toBeNull();
  });

  it('counts stored and pending uploads against the quota, and frees it when they are collected', async () => {
    const { clock, service, uploaded } = await setUp();
    await uploaded('carol');
    const ask = { name: 'big.png', type: 'image/png', size: 1024 - PNG_3X2.byteLength + 1 };
    await expect(service.createUpload('carol', ask)).rejects.toMatchObject({
      code: 'attachment_quota_exceeded',
    });
    await expect(service.createUpload('dave', ask)).resolves.toMatchObject({ id: expect.any(String) });
    await clock.advance(GRACE_MS);
    await service.collectGarbage();
    await expect(service.createUpload('carol', ask)).resolves.toMatchObject({ id: expect.any(String) });
  });
});
