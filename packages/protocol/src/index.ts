export * from './client-frames.js';
export * from './errors.js';
export * from './http.js';
export * from './model.js';
export * from './server-frames.js';
