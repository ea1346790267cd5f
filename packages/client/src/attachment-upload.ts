import { type ErrorCode, NatterError } from '@natter/protocol/core';

export interface UploadProgress {
  /** Bytes sent so far, and the total. */
  loaded: number;
  total: number;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  /** Aborts the upload (the promise rejects with an `AbortError`). */
  signal?: AbortSignal;
  /** How many times the bytes are sent before giving up on network failures (default 3). */
  attempts?: number;
}

/**
 * PUTs the bytes to a signed upload URL, again after an interrupted attempt (a network error or a
 * retryable answer: the URL stays valid until the bytes have arrived once). Uses XMLHttpRequest
 * where there is one, for upload progress, and fetch elsewhere.
 */
export async function putBytes(
  url: string,
  bytes: Blob | Uint8Array<ArrayBuffer>,
  options: UploadOptions,
): Promise<string> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const { status, text } = await putOnce(url, bytes, options);
      if (status >= 200 && status < 300) return text;
      const error = errorOf(status, text);
      if (!error.retryable || attempt >= attempts) throw error;
    } catch (error) {
      const interrupted = error instanceof TypeError; // fetch/XHR network failure
      if (!interrupted || attempt >= attempts) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
  }
}

function putOnce(
  url: string,
  bytes: Blob | Uint8Array<ArrayBuffer>,
  options: UploadOptions,
): Promise<{ status: number; text: string }> {
  if (typeof XMLHttpRequest === 'undefined')
    return fetch(url, {
      method: 'PUT',
      body: bytes,
      ...(options.signal ? { signal: options.signal } : {}),
    }).then(async (response) => ({ status: response.status, text: await response.text() }));
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PUT', url);
    request.upload.onprogress = (event) => options.onProgress?.({ loaded: event.loaded, total: event.total });
    request.onload = () => resolve({ status: request.status, text: request.responseText });
    request.onerror = () => reject(new TypeError('The upload was interrupted.'));
    request.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
    options.signal?.addEventListener('abort', () => request.abort(), { once: true });
    request.send(bytes);
  });
}

function errorOf(status: number, text: string): NatterError {
  let error: { code: ErrorCode; message: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    error = undefined;
  }
  return new NatterError(
    error?.code ?? (status >= 500 ? 'unavailable' : 'internal'),
    error?.message ?? `HTTP ${status}`,
  );
}
