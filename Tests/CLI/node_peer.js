#!/usr/bin/env node
'use strict';
// Node `ws` client for scripts/cli-tests.sh (the replay checks).
//
//   node_peer.js expect URL FILE [--hold S]
//       FILE: JSON lines {"send": {...}} / {"recv": {...}} with "opcode" (1 text, 2 binary)
//       and base64 "payload" (what `jsonl_tool.py steps` writes); sends and expects them in
//       order, each answer within 5 s, then closes with 1000 and waits for the server's
//       close. Prints "step N ok" per step and "all steps ok, closed CODE". --hold S waits
//       S seconds after the opening handshake before the first step (so that several
//       clients started together are connected at the same time).
// Exit 0 on success; failures print "FAIL: reason" and exit 1.

const fs = require('fs');
const WebSocket = require('ws');

function fail(message) {
  console.log(`FAIL: ${message}`);
  process.exit(1);
}

function expect(url, file, holdSeconds) {
  const steps = fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
  const ws = new WebSocket(url, { handshakeTimeout: 10000 });
  // Messages that arrived before a step asked for them.
  const inbox = [];
  let waiting = null;
  ws.on('message', (data, isBinary) => {
    inbox.push({ data, isBinary });
    if (waiting) waiting();
  });
  ws.on('error', (e) => fail(`${e.name}: ${e.message}`));
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));

  function next() {
    if (inbox.length) return Promise.resolve(inbox.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5000);
      waiting = () => {
        clearTimeout(timer);
        waiting = null;
        resolve(inbox.shift());
      };
    });
  }

  ws.once('open', async () => {
    console.log('open');
    await new Promise((resolve) => setTimeout(resolve, holdSeconds * 1000));
    for (let n = 1; n <= steps.length; n++) {
      const step = steps[n - 1];
      if (step.send) {
        const data = Buffer.from(step.send.payload, 'base64');
        ws.send(step.send.opcode === 1 ? data.toString('utf8') : data, { binary: step.send.opcode !== 1 });
        continue;
      }
      const want = Buffer.from(step.recv.payload, 'base64');
      const wantText = step.recv.opcode === 1;
      let got;
      try {
        got = await next();
      } catch (e) {
        fail(`step ${n}: ${e.message}, expected ${wantText ? 'text' : 'binary'} ${JSON.stringify(want.toString('latin1'))}`);
      }
      if (!Buffer.from(got.data).equals(want) || got.isBinary === wantText) {
        fail(`step ${n}: expected ${wantText ? 'text' : 'binary'} ${want.toString('hex')}, got ${got.isBinary ? 'binary' : 'text'} ${Buffer.from(got.data).toString('hex')}`);
      }
      console.log(`step ${n} ok`);
    }
    ws.close(1000);
    const timer = setTimeout(() => fail('the server did not close within 5 s'), 5000);
    const code = await closed;
    clearTimeout(timer);
    console.log(`all steps ok, closed ${code}`);
    process.exit(0);
  });
}

const [mode, url, file, ...options] = process.argv.slice(2);
let hold = 0;
if (options.length === 2 && options[0] === '--hold' && Number(options[1]) >= 0) {
  hold = Number(options[1]);
} else if (options.length !== 0) {
  fail(`unknown options ${options.join(' ')}`);
}
if (mode !== 'expect' || !url || !file) fail('usage: node_peer.js expect URL FILE [--hold S]');
expect(url, file, hold);
