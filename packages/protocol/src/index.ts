/** The whole protocol, with the runtime schemas of client frames and HTTP bodies (zod): for the server. */
export * from './attachments.js';
export * from './client-frames.js';
export * from './errors.js';
export * from './http.js';
export * from './limits.js';
export * from './model.js';
export * from './push.js';
export * from './server-api.js';
export * from './server-frames.js';
