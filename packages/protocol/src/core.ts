/**
 * `@natter/protocol/core`: the protocol without its runtime schemas, for clients (the SDK, the web
 * app). Types, constants and the error catalogue only, with no dependency, so a browser bundle
 * stays small and never loads the schema library (zod alone tripled the web app's JavaScript, and
 * its `new Function` probe broke the strict CSP). The server validates with the schemas of the
 * package root, which also exports everything here.
 */

export type { AttachmentRef, DownloadTicket, UploadTicket } from './attachments.js';
export type {
  AuthFrame,
  ClientFrame,
  ClientFrameOf,
  ClientFrameType,
  DeleteFrame,
  EditFrame,
  FetchFrame,
  HideConversationFrame,
  HistoryFrame,
  PinFrame,
  PresenceSubscribeFrame,
  ReactFrame,
  ReceiptFrame,
  SendFrame,
  SetNotificationsFrame,
  SyncFrame,
  ThreadHistoryFrame,
  ThreadReadFrame,
  TypingFrame,
} from './client-frames.js';
export * from './errors.js';
export type {
  AddMemberBody,
  CreateDirectBody,
  CreateGroupBody,
  LoginBody,
  RegisterBody,
  UpdateProfileBody,
} from './http.js';
export * from './limits.js';
export * from './model.js';
export type { PushConfigAnswer, PushDeviceBody, PushPayload } from './push.js';
export * from './server-frames.js';
