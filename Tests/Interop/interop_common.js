'use strict';
// Shared by the Node interop peers: options, the message sequence, checks.
//
// The sequence is deterministic: for each size in SEQUENCES[name] (--sequence) it
// holds a text message of repeated multi-byte UTF-8, a text message of pseudo-random
// characters (1 to 4 bytes each), a pseudo-random binary message (sent twice in a
// row up to AGAIN_LIMIT) and a highly compressible binary message, each exactly that many bytes.
// Above 1 MiB (the 16 MiB size) only the repeated text and the random binary message are
// sent, to keep the run short (deflating 16 MiB of random text takes seconds per hop).

const MIB = 1024 * 1024;
const SIZES = [0, 1, 125, 126, 65535, 65536, MIB, 16 * MIB];
const SEQUENCES = {
  full: SIZES,
  medium: [0, 1, 125, 126, 65535, 65536, MIB],
  short: [0, 1, 125, 126, 65535, 65536, 256 * 1024],
};
// The same random message twice in a row, up to this size: a sender that skips compressing
// the first (it would not shrink) must not keep it in its compression history either.
const AGAIN_LIMIT = 65536;
const MAX_SIZE = 64 * MIB; // largest message the peers accept (the sequence needs 16 MiB)

const TEXT_UNIT = Buffer.from('wscope é ж € 中文 😀 ok\n', 'utf8');
// Characters of every UTF-8 length, including the edges of each length class.
const TEXT_CHARS = [...'aZ~ \t\u0080éж\u07ff\u0800€中\ufffd\u{10000}😀\u{10ffff}'].map((c) => Buffer.from(c, 'utf8'));

function log(...parts) {
  process.stderr.write(parts.join(' ') + '\n');
}

// xorshift32: small, deterministic, fast enough for 16 MiB.
function makeRng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

function repeatedText(size) {
  const out = Buffer.alloc(size, 'x');
  for (let at = 0; at + TEXT_UNIT.length <= size; at += TEXT_UNIT.length) TEXT_UNIT.copy(out, at);
  return out;
}

function randomText(size, rng) {
  // Whole random characters while they fit, ASCII padding for the last 0-3 bytes.
  const out = Buffer.alloc(size, 'y');
  let at = 0;
  for (;;) {
    const c = TEXT_CHARS[rng() % TEXT_CHARS.length];
    if (at + c.length > size) break;
    c.copy(out, at);
    at += c.length;
  }
  return out;
}

function randomBinary(size, rng) {
  const out = Buffer.alloc(size);
  let at = 0;
  for (; at + 4 <= size; at += 4) out.writeUInt32LE(rng(), at);
  for (; at < size; at++) out[at] = rng() & 0xff;
  return out;
}

function compressibleBinary(size) {
  const unit = Buffer.concat([Buffer.from([...Array(256).keys()]), Buffer.alloc(256), Buffer.alloc(64, 0xff)]);
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += unit.length) unit.copy(out, at, 0, Math.min(unit.length, size - at));
  return out;
}

// [{name, isText, payload: Buffer}], the same on every run.
function messageSequence(name) {
  if (!SEQUENCES[name]) throw new Error(`unknown sequence '${name}'`);
  const rng = makeRng(6455);
  const out = [];
  for (const size of SEQUENCES[name]) {
    const big = size > MIB;
    out.push({ name: `text-repeated-${size}`, isText: true, payload: repeatedText(size) });
    if (!big) out.push({ name: `text-random-${size}`, isText: true, payload: randomText(size, rng) });
    out.push({ name: `binary-random-${size}`, isText: false, payload: randomBinary(size, rng) });
    if (size <= AGAIN_LIMIT) out.push({ name: `binary-random-again-${size}`, isText: false, payload: out[out.length - 1].payload });
    if (!big) out.push({ name: `binary-compressible-${size}`, isText: false, payload: compressibleBinary(size) });
  }
  for (const m of out) {
    if (m.isText && !Buffer.from(m.payload.toString('utf8'), 'utf8').equals(m.payload)) {
      throw new Error(`generator produced invalid UTF-8 for ${m.name}`);
    }
  }
  return out;
}

// 'server_no_context_takeover; client_max_window_bits=10' -> ws perMessageDeflate options.
function deflateOptions(args) {
  if (!args.deflate && args.deflateParams === undefined) return false;
  const names = {
    server_no_context_takeover: 'serverNoContextTakeover',
    client_no_context_takeover: 'clientNoContextTakeover',
    server_max_window_bits: 'serverMaxWindowBits',
    client_max_window_bits: 'clientMaxWindowBits',
  };
  const options = { threshold: 0 }; // compress every message, even empty ones
  for (const item of (args.deflateParams || '').split(';').map((s) => s.trim()).filter(Boolean)) {
    const [name, value] = item.split('=').map((s) => s.trim());
    if (!names[name]) throw new Error(`unknown deflate parameter '${name}'`);
    options[names[name]] = value === undefined ? true : Number(value);
  }
  return options;
}

const USAGE = `options: [--deflate] [--deflate-params P] [--expect HEADER] [--sequence NAME] [--timeout S]
  --deflate          offer/accept permessage-deflate
  --deflate-params P e.g. 'server_no_context_takeover; client_max_window_bits=10' (implies --deflate)
  --expect HEADER    the Sec-WebSocket-Extensions value that must be negotiated ('' for none)
  --sequence NAME    full (largest 16 MiB, default), medium (1 MiB) or short (256 KiB)
  --timeout S        seconds per message (default 60)`;

function parseArgs(argv, extra = {}) {
  const args = { deflate: false, deflateParams: undefined, expect: undefined, sequence: 'full', timeout: 60, port: 0, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === '--deflate') args.deflate = true;
    else if (a === '--deflate-params') args.deflateParams = value();
    else if (a === '--expect') args.expect = value();
    else if (a === '--sequence') args.sequence = value();
    else if (a === '--timeout') args.timeout = Number(value());
    else if (a === '--port' && extra.port) args.port = Number(value());
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else args.positional.push(a);
  }
  return args;
}

// 'permessage-deflate; b=1;a' -> 'permessage-deflate; a; b=1' (per extension, sorted params).
function normalizeExtensions(value) {
  if (value === undefined || value === null || value.trim() === '') return '';
  return value.split(',').map((ext) => {
    const parts = ext.split(';').map((p) => p.trim().replace(/ /g, '').toLowerCase()).filter(Boolean);
    return [parts[0], ...parts.slice(1).sort()].join('; ');
  }).join(', ');
}

// Prints what was negotiated; returns an error string when --expect disagrees.
function checkExtensions(negotiated, expect) {
  console.log(`negotiated: ${negotiated ? negotiated : '(none)'}`);
  if (expect === undefined) return null;
  if (normalizeExtensions(negotiated) !== normalizeExtensions(expect)) {
    return `negotiated extensions '${negotiated || ''}', expected '${expect}'`;
  }
  return null;
}

function describeMismatch(m, data, isBinary) {
  if (isBinary === m.isText) return `${m.name}: echo came back as ${isBinary ? 'binary' : 'text'}`;
  if (data.equals(m.payload)) return null;
  if (data.length !== m.payload.length) return `${m.name}: echo has ${data.length} bytes, sent ${m.payload.length}`;
  let first = 0;
  while (data[first] === m.payload[first]) first++;
  return `${m.name}: echo differs from byte ${first} on`;
}

// Sends the sequence over ws one message at a time, checking each echo, then closes
// with 1000 and checks that the peer answered 1000. Resolves to null or an error string.
function driveSequence(ws, messages, timeoutSeconds) {
  return new Promise((resolve) => {
    let index = 0;
    let timer = null;
    let started = 0;
    let done = false;
    const finish = (error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(error);
    };
    const sendNext = () => {
      if (index === messages.length) {
        ws.close(1000);
        timer = setTimeout(() => finish('closing handshake: no close frame from the peer'), timeoutSeconds * 1000);
        return;
      }
      const m = messages[index];
      started = Date.now();
      ws.send(m.payload, { binary: !m.isText });
      timer = setTimeout(() => finish(`${m.name}: no echo within ${timeoutSeconds} s`), timeoutSeconds * 1000);
    };
    ws.on('message', (data, isBinary) => {
      clearTimeout(timer);
      const m = messages[index];
      if (!m) return finish(`unexpected message after the sequence (${data.length} bytes)`);
      const error = describeMismatch(m, data, isBinary);
      if (error) return finish(error);
      log(`ok ${m.name} (${((Date.now() - started) / 1000).toFixed(3)} s)`);
      index++;
      sendNext();
    });
    ws.on('close', (code, reason) => {
      if (index < messages.length) return finish(`connection closed early with ${code} '${reason}'`);
      if (code !== 1000) return finish(`closing handshake: the peer answered with ${code} '${reason}'`);
      finish(null);
    });
    ws.on('error', (e) => finish(`${e.name}: ${e.message}`));
    sendNext();
  });
}

module.exports = {
  MAX_SIZE, log, messageSequence, deflateOptions, parseArgs, checkExtensions, driveSequence, normalizeExtensions,
};
