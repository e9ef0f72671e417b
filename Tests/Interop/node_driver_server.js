#!/usr/bin/env node
'use strict';
// Interop driver server (Node ws), for testing a client that echoes
// (`wscope connect --echo`): prints the listening port as its first stdout line, accepts
// one connection, sends it the message sequence, checks that every echo is
// byte-identical and of the same type, closes with 1000, checks that the client
// answered 1000, prints PASS or FAIL and exits 0 or 1.
//
//   node_driver_server.js [--port N] [--deflate] [--deflate-params P] [--expect H] [--sequence full|medium|short]

const { WebSocketServer } = require('ws');
const common = require('./interop_common');

const args = common.parseArgs(process.argv.slice(2), { port: true });
const messages = common.messageSequence(args.sequence);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: args.port,
  perMessageDeflate: common.deflateOptions(args),
  maxPayload: common.MAX_SIZE,
});
let negotiated;
let used = false;
wss.on('listening', () => console.log(wss.address().port));
wss.on('headers', (headers) => {
  const line = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
  negotiated = line && line.replace(/^[^:]*:\s*/, '');
});
wss.on('connection', async (ws) => {
  if (used) return ws.close(1013, 'driver already used');
  used = true;
  const error = common.checkExtensions(negotiated, args.expect) || await common.driveSequence(ws, messages, args.timeout);
  if (error) {
    console.log(`FAIL: ${error}`);
    process.exit(1);
  }
  console.log('PASS');
  process.exit(0);
});
