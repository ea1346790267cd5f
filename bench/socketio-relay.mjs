// The do-it-yourself baseline: a minimal Socket.IO 4 chat relay. One room per conversation, websocket
// transport only, no storage and no auth check beyond naming the user and conversation in the handshake.
// A conversation is a room, whatever its size: for a group every member names the group in its handshake,
// and a send is one broadcast to the group's room (the groups scenario, bench/groups.mjs).
//   client: io(url, { transports: ['websocket'], auth: { user_id, conversation_id } })
//   client -> emit('send', { conversation_id, client_msg_id, body }, ack)
//   relay  -> room (except sender) emit('event', { conversation_id, seq, sender_id, client_msg_id, body, created_at })
//          -> ack({ conversation_id, client_msg_id, seq, created_at })
// Usage: node bench/socketio-relay.mjs [--port 0] [--host 127.0.0.1]; prints {"msg":"listening","port":N}.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});

const http = createServer((req, res) => {
  // Same readiness probe as Natter, so run.mjs starts both targets the same way.
  res.writeHead(req.url === '/readyz' ? 200 : 404).end();
});
const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });

/** @type {Map<string, number>} per-conversation sequence counter (memory only) */
const seqs = new Map();

io.on('connection', (socket) => {
  const { user_id: userId, conversation_id: conversationId } = socket.handshake.auth ?? {};
  if (typeof userId !== 'string' || typeof conversationId !== 'string') {
    socket.disconnect(true);
    return;
  }
  socket.join(conversationId);
  socket.on('send', (msg, ack) => {
    if (typeof ack !== 'function' || msg?.conversation_id !== conversationId) return;
    const seq = (seqs.get(conversationId) ?? 0) + 1;
    seqs.set(conversationId, seq);
    const createdAt = Date.now();
    socket.to(conversationId).emit('event', {
      conversation_id: conversationId,
      seq,
      sender_id: userId,
      client_msg_id: msg.client_msg_id,
      body: msg.body,
      created_at: createdAt,
    });
    ack({ conversation_id: conversationId, client_msg_id: msg.client_msg_id, seq, created_at: createdAt });
  });
});

http.listen(Number(values.port), values.host, () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ level: 30, msg: 'listening', port })}\n`);
});

process.on('SIGTERM', () => {
  io.close();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
