#!/usr/bin/env node
'use strict';
// Interop echo server (Node ws): echoes every message as the same type. Prints the
// listening port as its first stdout line (use --port 0 for a free port).
//
//   node_echo_server.js [--port N] [--deflate] [--deflate-params P]

const { WebSocketServer } = require('ws');
const common = require('./interop_common');

const args = common.parseArgs(process.argv.slice(2), { port: true });
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: args.port,
  perMessageDeflate: common.deflateOptions(args),
  maxPayload: common.MAX_SIZE,
});
wss.on('listening', () => console.log(wss.address().port));
wss.on('headers', (headers) => common.log(`response: ${headers.slice(1).join(' | ')}`));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (e) => common.log(`connection error: ${e.message}`));
});
