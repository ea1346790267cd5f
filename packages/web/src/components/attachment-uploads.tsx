import type { AttachmentRef } from '@natter/protocol/core';
import { useRef, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { Icon } from './icons.js';

interface Upload {
  key: number;
  name: string;
  loaded: number;
  total: number;
  ref: AttachmentRef | null;
  error: string | null;
  controller: AbortController;
}

/**
 * The files picked, dropped or pasted into a composer: each uploads at once (with progress, and a
 * cancel), and the message goes out with the ones that arrived.
 */
export function useAttachmentUploads(session: ChatSession) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const nextKey = useRef(0);
  const update = (key: number, change: Partial<Upload>) =>
    setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...change } : u)));

  function add(files: Iterable<File>) {
    for (const file of files) {
      const key = nextKey.current++;
      const controller = new AbortController();
      setUploads((all) => [
        ...all,
        { key, name: file.name || 'pasted', loaded: 0, total: file.size, ref: null, error: null, controller },
      ]);
      session.http
        .uploadAttachment(
          { name: file.name || 'pasted-image', type: file.type || 'application/octet-stream', bytes: file },
          { signal: controller.signal, onProgress: (p) => update(key, { loaded: p.loaded, total: p.total }) },
        )
        .then((ref) => update(key, { ref, loaded: file.size }))
        .catch((error: unknown) => {
          if (controller.signal.aborted) return;
          update(key, { error: error instanceof Error ? error.message : 'The upload failed.' });
        });
    }
  }

  function cancel(key: number) {
    setUploads((all) => {
      all.find((u) => u.key === key)?.controller.abort();
      return all.filter((u) => u.key !== key);
    });
  }

  return {
    uploads,
    add,
    cancel,
    clear: () => setUploads([]),
    busy: uploads.some((u) => !u.ref && !u.error),
    ready: uploads.flatMap((u) => (u.ref ? [u.ref] : [])),
  };
}

/** The uploads above the composer's input: name, a progress bar, and × to cancel or remove. */
export function UploadTray({ uploads, onCancel }: { uploads: Upload[]; onCancel: (key: number) => void }) {
  if (uploads.length === 0) return null;
  return (
    <ul className="upload-tray" aria-label="Attachments">
      {uploads.map((u) => (
        <li key={u.key} className={`upload${u.error ? ' failed' : ''}`}>
          <span className="upload-name">{u.name}</span>
          {u.error ? (
            <span className="upload-error" role="alert">
              {u.error}
            </span>
          ) : (
            <progress
              className="upload-progress"
              aria-label={`Uploading ${u.name}`}
              max={u.total || 1}
              value={u.ref ? u.total || 1 : u.loaded}
            />
          )}
          <button
            type="button"
            className="icon-button small"
            aria-label={u.ref || u.error ? `Remove ${u.name}` : `Cancel upload of ${u.name}`}
            onClick={() => onCancel(u.key)}
          >
            <Icon name="close" />
          </button>
        </li>
      ))}
    </ul>
  );
}
