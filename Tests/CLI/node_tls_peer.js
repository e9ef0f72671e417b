#!/usr/bin/env node
'use strict';
// Node `ws` peers over TLS for scripts/cli-tests.sh (NODE_PATH=/usr/share/nodejs).
//
//   node_tls_peer.js server CERT KEY
//       wss echo server on 127.0.0.1 (a free port, printed as the first stdout line);
//       echoes every message as the same type, logs "tls <version> <cipher>" per client
//   node_tls_peer.js client URL CAFILE MESSAGE
//       connects with CAFILE as the only trusted authority (chain and name verified),
//       sends MESSAGE as text, expects it back, closes with 1000; prints
//       "tls echo ok <version> <cipher>". Exit 1 with "FAIL: reason" otherwise.

const fs = require('fs');
const https = require('https');
const { WebSocket, WebSocketServer } = require('ws');

function fail(message) {
  console.log(`FAIL: ${message}`);
  process.exit(1);
}

const [mode, ...rest] = process.argv.slice(2);

if (mode === 'server') {
  const [cert, key] = rest;
  const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, request) => {
    const socket = request.socket;
    console.log(`tls ${socket.getProtocol()} ${socket.getCipher().standardName}`);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code) => console.log(`closed: code=${code}`));
    ws.on('error', (e) => console.log(`connection error: ${e.message}`));
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
} else if (mode === 'client') {
  const [url, cafile, message] = rest;
  const timer = setTimeout(() => fail('no echo within 10 s'), 10000);
  const ws = new WebSocket(url, { ca: fs.readFileSync(cafile) });
  ws.on('open', () => ws.send(message));
  ws.on('message', (data, isBinary) => {
    if (isBinary || data.toString() !== message) fail(`got ${isBinary ? 'binary' : 'text'} ${JSON.stringify(data.toString())}`);
    const socket = ws._socket;
    const info = `${socket.getProtocol()} ${socket.getCipher().standardName}`;
    ws.close(1000);
    ws.on('close', (code) => {
      clearTimeout(timer);
      console.log(`tls echo ok ${info} (closed ${code})`);
    });
  });
  ws.on('error', (e) => fail(e.message));
} else {
  fail('usage: node_tls_peer.js server CERT KEY | client URL CAFILE MESSAGE');
}
