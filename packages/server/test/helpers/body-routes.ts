import { uid } from './server.js';

export interface BodyRoute {
  method: string;
  path: string;
  /** A body the route accepts. */
  body: Record<string, unknown>;
}

/** Every HTTP route that reads a body (packages/server/src/http/*-routes.ts), with a valid body each. */
export function bodyRoutes(conversationId: string, memberId: string): BodyRoute[] {
  const conversation = `/v1/conversations/${conversationId}`;
  return [
    { method: 'POST', path: '/v1/accounts', body: { username: uid('acct'), password: 'password123' } },
    { method: 'POST', path: '/v1/sessions', body: { username: 'nobody', password: 'password123' } },
    { method: 'POST', path: '/v1/conversations/direct', body: { user_id: memberId } },
    { method: 'POST', path: '/v1/conversations', body: { title: 't', member_ids: [memberId] } },
    { method: 'PATCH', path: conversation, body: { title: 't' } },
    { method: 'POST', path: `${conversation}/members`, body: { user_id: uid('m'), role: 'member' } },
    { method: 'PATCH', path: `${conversation}/members/${memberId}`, body: { role: 'admin' } },
    { method: 'POST', path: '/v1/users/lookup', body: { user_ids: [memberId], usernames: ['x'] } },
  ];
}

/** Sends `text` as the body with the given Content-Type (none if undefined); the answer parsed. */
export async function sendBody(
  baseUrl: string,
  route: Pick<BodyRoute, 'method' | 'path'>,
  text: string,
  options: { token: string; contentType: string | undefined },
): Promise<{ status: number; error: { code: string; message: string } | undefined }> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const res = await fetch(baseUrl + route.path, {
    method: route.method,
    headers,
    body: options.contentType === undefined ? new Blob([text]) : text,
  });
  const answer = await res.text();
  const parsed = answer.startsWith('{')
    ? (JSON.parse(answer) as { error?: { code: string; message: string } })
    : {};
  return { status: res.status, error: parsed.error };
}
