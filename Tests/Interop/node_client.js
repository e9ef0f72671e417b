#!/usr/bin/env node
'use strict';
// Interop client (Node ws): sends the message sequence to URL, checks that every echo is
// byte-identical and of the same type, closes with 1000 and checks that the server
// answered the close with 1000. Prints the negotiated Sec-WebSocket-Extensions.
// Exit 0 on success, 1 with a FAIL line on any mismatch.
//
//   node_client.js ws://127.0.0.1:PORT/ [--deflate] [--deflate-params P] [--expect H] [--sequence full|medium|short]

const WebSocket = require('ws');
const common = require('./interop_common');

function fail(message) {
  console.log(`FAIL: ${message}`);
  process.exit(1);
}

async function main() {
  const args = common.parseArgs(process.argv.slice(2));
  if (args.positional.length !== 1) fail('usage: node_client.js URL [options]');
  const messages = common.messageSequence(args.sequence);
  const ws = new WebSocket(args.positional[0], {
    perMessageDeflate: common.deflateOptions(args),
    maxPayload: common.MAX_SIZE,
    handshakeTimeout: args.timeout * 1000,
  });
  const opened = await new Promise((resolve) => {
    let negotiated;
    ws.once('upgrade', (res) => { negotiated = res.headers['sec-websocket-extensions']; });
    ws.once('open', () => resolve({ negotiated }));
    ws.once('error', (e) => resolve({ error: `${e.name}: ${e.message}` }));
  });
  if (opened.error) fail(opened.error);
  const error = common.checkExtensions(opened.negotiated, args.expect) || await common.driveSequence(ws, messages, args.timeout);
  if (error) fail(error);
  console.log('PASS');
}

main().catch((e) => fail(e.stack || String(e)));
