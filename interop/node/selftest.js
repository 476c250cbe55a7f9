'use strict';
//
// selftest.js: drives two (sometimes more) peer processes through the PEER.md contract and checks
// every reply. Exits 1 on the first failed check, 0 when all pass.
//
//     node interop/node/selftest.js [path/to/peer.js]
//
// Scenarios: the four combinations of {one-time prekey, no one-time prekey} x {PQXDH, X3DH}, each
// a conversation of 50 messages (empty and 64 KiB plaintexts, bursts delivered out of order, a
// duplicate, bit flips in the MAC of both message types, bundle re-use, bad requests), then one
// scenario for trust on first use and end-of-input exit. The first PQXDH conversation names the
// parties with UUIDs (service ids to libsignal >= 0.91, which then adds their addresses to the
// messages). A peer whose library refuses X3DH (0.103.0) must answer `unsupported` to an X3DH
// bundle request and to a bundle without a Kyber prekey; its X3DH conversations are skipped.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const readline = require('node:readline');
const { readProtoFields } = require('./peer-core.js');

const PEER_JS = path.resolve(process.argv[2] || path.join(__dirname, 'peer.js'));
const MESSAGES = 50;
const BIG = 64 * 1024;
const peers = []; // every peer started, for their stderr on failure

// ---------------------------------------------------------------------------------------------
// A peer process and its request/reply pipe.

class Peer {
  constructor(label) {
    this.label = label;
    peers.push(this);
    this.child = spawn(process.execPath, [PEER_JS], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pending = [];
    this.stderr = '';
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    readline.createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      const waiter = this.pending.shift();
      if (!waiter) throw new Error(`${label}: unexpected output: ${line.slice(0, 200)}`);
      try {
        waiter.resolve(JSON.parse(line));
      } catch (err) {
        waiter.reject(new Error(`${label}: reply is not JSON: ${line.slice(0, 200)}`));
      }
    });
  }

  /** Sends one raw line and resolves to the parsed reply. */
  send(line) {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(line + '\n');
    });
  }

  call(req) {
    return this.send(JSON.stringify(req));
  }

  /** A request that must succeed; resolves to the reply. */
  async ok(req) {
    const reply = await this.call(req);
    assert.equal(reply.ok, true, `${this.label} ${req.op}: ${JSON.stringify(reply.error)}`);
    return reply;
  }

  /** A request that must fail with the given kind. */
  async fails(req, kind) {
    const reply = await this.call(req);
    assert.equal(reply.ok, false, `${this.label} ${req.op}: expected ${kind}, got ok`);
    assert.equal(reply.error.kind, kind,
      `${this.label} ${req.op}: expected ${kind}, got ${JSON.stringify(reply.error)}`);
    assert.equal(typeof reply.error.message, 'string');
  }

  async init(name, deviceId) {
    this.address = { name, device_id: deviceId };
    const registrationId = 1 + crypto.randomInt(16380);
    const req = { op: 'init', name, device_id: deviceId, registration_id: registrationId };
    this.identityKey = (await this.ok(req)).identity_key;
    assert.equal(Buffer.from(this.identityKey, 'base64').length, 33);
    return this;
  }

  encrypt(remote, plaintext) {
    return this.ok({ op: 'encrypt', remote: remote.address, plaintext: b64(plaintext) });
  }

  decrypt(remote, msg) {
    return this.call({ op: 'decrypt', remote: remote.address, type: msg.type, ciphertext: msg.ciphertext });
  }

  async session(remote) {
    return this.ok({ op: 'session', remote: remote.address });
  }

  async quit() {
    await this.ok({ op: 'quit' });
    assert.equal(await this.exited, 0, `${this.label}: exit code after quit`);
  }
}

function b64(bytes) {
  return Buffer.from(bytes).toString('base64');
}

/** Delivers `msg` from `from` to `to` and checks the plaintext. */
async function deliver(from, to, msg, plaintext) {
  const reply = await to.decrypt(from, msg);
  assert.equal(reply.ok, true, `${to.label} decrypt from ${from.label}: ${JSON.stringify(reply.error)}`);
  assert.ok(Buffer.from(reply.plaintext, 'base64').equals(plaintext), `${to.label}: plaintext mismatch`);
}

/** A copy of a serialized message with one bit of its (innermost) MAC flipped. */
function flipMacBit(msg) {
  const bytes = Buffer.from(msg.ciphertext, 'base64');
  let signalMessage = bytes;
  if (msg.type === 3) {
    // PreKeySignalMessage: version byte, then protobuf; field 4 is the SignalMessage.
    const inner = readProtoFields(bytes.subarray(1)).find((f) => f.number === 4 && f.wire === 2);
    signalMessage = inner.value; // a view into `bytes`
  }
  signalMessage[signalMessage.length - 1] ^= 0x01; // the last 8 bytes are the MAC
  return { type: msg.type, ciphertext: b64(bytes) };
}

function plaintextFor(i) {
  if (i === 3 || i === 30) return Buffer.alloc(0);
  if (i === 10 || i === 25) return crypto.randomBytes(BIG);
  return crypto.randomBytes(1 + crypto.randomInt(200));
}

// ---------------------------------------------------------------------------------------------
// Scenarios

async function badRequests(peer, remote) {
  await peer.fails({ op: 'init', name: 'again', device_id: 1, registration_id: 1 }, 'bad_request');
  await peer.fails({ op: 'no_such_op' }, 'bad_request');
  await peer.fails({}, 'bad_request');
  assert.equal((await peer.send('{not json')).error.kind, 'bad_request');
  assert.equal((await peer.send('[1,2]')).error.kind, 'bad_request');
  await peer.fails({ op: 'encrypt', remote: remote.address }, 'bad_request');
  await peer.fails({ op: 'encrypt', remote: remote.address, plaintext: 'not base64!' }, 'bad_request');
  await peer.fails({ op: 'encrypt', remote: { name: 'x' }, plaintext: '' }, 'bad_request');
  await peer.fails({ op: 'decrypt', remote: remote.address, type: 9, ciphertext: 'AAAA' }, 'bad_request');
  await peer.fails({ op: 'decrypt', remote: remote.address, type: 2, ciphertext: 'AAAA' }, 'invalid_message');
  await peer.fails({ op: 'decrypt', remote: remote.address, type: 3, ciphertext: 'RA==' }, 'invalid_message');
  await peer.fails({ op: 'decrypt', remote: remote.address, type: 2, ciphertext: '' }, 'invalid_message');
  await peer.fails({ op: 'approve_identity', remote: remote.address, identity_key: 'BQ==' }, 'bad_request');
  await peer.fails({ op: 'fingerprint', remote: remote.address, local_id: 1, remote_id: 'x' }, 'bad_request');
}

function checkBundle(bundle, oneTime, kyber) {
  const len = (key) => Buffer.from(bundle[key], 'base64').length;
  assert.equal(len('identity_key'), 33);
  assert.equal(len('signed_prekey'), 33);
  assert.equal(len('signed_prekey_signature'), 64);
  assert.equal('prekey' in bundle, oneTime);
  assert.equal('prekey_id' in bundle, oneTime);
  if (oneTime) assert.equal(len('prekey'), 33);
  assert.equal('kyber_prekey' in bundle, kyber);
  if (kyber) {
    assert.equal(len('kyber_prekey'), 1569);
    assert.equal(Buffer.from(bundle.kyber_prekey, 'base64')[0], 0x08);
    assert.equal(len('kyber_prekey_signature'), 64);
  }
}

/** A copy of `bundle` with one bit of `key` flipped. */
function tamperBundle(bundle, key) {
  const bytes = Buffer.from(bundle[key], 'base64');
  bytes[10] ^= 0x01;
  return { ...bundle, [key]: b64(bytes) };
}

const UUID_NAMES = ['a11ce000-a11c-4000-8000-000000000001', 'b0b00000-b0b0-4000-8000-000000000002'];

async function conversation(oneTime, kyber, names = ['alice', 'bob']) {
  const version = kyber ? 4 : 3;
  const alice = await new Peer('alice').init(names[0], 1);
  const bob = await new Peer('bob').init(names[1], 2);

  // Nothing is known yet.
  await alice.fails({ op: 'encrypt', remote: bob.address, plaintext: b64('hi') }, 'no_session');
  await alice.fails({ op: 'fingerprint', local_id: 'a', remote_id: 'b', remote: bob.address }, 'no_session');
  assert.deepEqual(await alice.session(bob), { ok: true, exists: false });

  const { bundle } = await bob.ok({ op: 'bundle', one_time_prekey: oneTime, kyber });
  checkBundle(bundle, oneTime, kyber);
  assert.equal(bundle.identity_key, bob.identityKey);

  // Bundles with a bad signature are refused and change nothing.
  const sigKeys = kyber ? ['signed_prekey_signature', 'kyber_prekey_signature'] : ['signed_prekey_signature'];
  for (const key of sigKeys) {
    const tampered = tamperBundle(bundle, key);
    await alice.fails({ op: 'process_bundle', remote: bob.address, bundle: tampered }, 'invalid_message');
    assert.equal((await alice.session(bob)).exists, false);
  }

  await alice.ok({ op: 'process_bundle', remote: bob.address, bundle });
  assert.deepEqual(await alice.session(bob), { ok: true, exists: true, version });

  // The conversation: strictly alternating, with a burst delivered out of order at 14..16.
  const sent = []; // every delivered message, for the duplicate checks
  let aliceHeardBack = false;
  for (let i = 0; i < MESSAGES; i++) {
    const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
    if (i === 14) {
      const burst = [];
      for (let k = 0; k < 3; k++) {
        const p = plaintextFor(i + k);
        burst.push([await from.encrypt(to, p), p]);
      }
      for (const k of [2, 0, 1]) await deliver(from, to, ...burst[k]);
      i += 2; // the burst counts as three messages
      continue;
    }
    const plaintext = plaintextFor(i);
    const msg = await from.encrypt(to, plaintext);
    const expectType = from === alice && !aliceHeardBack ? 3 : 2;
    assert.equal(msg.type, expectType, `message ${i} type`);
    const wire = Buffer.from(msg.ciphertext, 'base64');
    if (msg.type === 2) {
      assert.equal(wire[0] >> 4, version, `message ${i} version byte`);
    }
    if (i === 0 || i === 20 || i === 21) {
      // One flipped MAC bit: refused, and the genuine message still decrypts afterwards.
      await to.fails({ op: 'decrypt', remote: from.address, ...flipMacBit(msg) }, 'invalid_message');
    }
    await deliver(from, to, msg, plaintext);
    sent.push({ i, from, to, msg });
    if (from === bob) aliceHeardBack = true;
    if (i === 0) {
      // The first PreKeySignalMessage again, while its chain is current.
      await to.fails({ op: 'decrypt', remote: from.address, ...msg }, 'duplicate');
    }
  }

  // Duplicates of the last message each way.
  for (const { from, to, msg } of sent.slice(-2)) {
    await to.fails({ op: 'decrypt', remote: from.address, ...msg }, 'duplicate');
  }
  // A replay from a chain libsignal no longer keeps (it keeps 5 receiver chains) cannot be told
  // from a forgery: it fails authentication, so it is invalid_message, not duplicate.
  const old = sent.find((s) => s.i === 5);
  await old.to.fails({ op: 'decrypt', remote: old.from.address, ...old.msg }, 'invalid_message');

  for (const [p, q] of [[alice, bob], [bob, alice]]) {
    assert.deepEqual(await p.session(q), { ok: true, exists: true, version });
  }

  // Safety numbers agree on both sides.
  const fa = await alice.ok({ op: 'fingerprint', local_id: 'alice', remote_id: 'bob', remote: bob.address });
  const fb = await bob.ok({ op: 'fingerprint', local_id: 'bob', remote_id: 'alice', remote: alice.address });
  assert.match(fa.displayable, /^[0-9]{60}$/);
  assert.equal(fa.displayable, fb.displayable);
  assert.ok(Buffer.from(fa.scannable, 'base64').length > 0);

  await badRequests(bob, alice);

  // Re-using the bundle: its one-time EC and Kyber prekeys are gone, the signed prekey is not.
  await alice.ok({ op: 'process_bundle', remote: bob.address, bundle });
  const again = await alice.encrypt(bob, Buffer.from('again'));
  assert.equal(again.type, 3);
  if (oneTime || kyber) {
    await bob.fails({ op: 'decrypt', remote: alice.address, ...again }, 'invalid_key_id');
  } else {
    await deliver(alice, bob, again, Buffer.from('again'));
  }
  // Either way both sides still talk: Bob answers on whichever session he holds.
  const answer = Buffer.from('still here');
  await deliver(bob, alice, await bob.encrypt(alice, answer), answer);
  const reply = Buffer.from('and so am I');
  await deliver(alice, bob, await alice.encrypt(bob, reply), reply);

  await alice.quit();
  await bob.quit();
  return MESSAGES;
}

/**
 * Whether the peer refuses X3DH: then a bundle request without Kyber and a bundle without a
 * Kyber prekey must both be `unsupported`. A peer that hands out X3DH bundles supports X3DH.
 */
async function refusesX3DH() {
  const alice = await new Peer('alice').init('alice', 1);
  const bob = await new Peer('bob').init('bob', 1);
  const reply = await bob.call({ op: 'bundle', one_time_prekey: true, kyber: false });
  let refused = false;
  if (!reply.ok) {
    assert.equal(reply.error.kind, 'unsupported', `bob bundle without Kyber: ${JSON.stringify(reply.error)}`);
    const { bundle } = await bob.ok({ op: 'bundle', one_time_prekey: true, kyber: true });
    const { kyber_prekey_id: _id, kyber_prekey: _key, kyber_prekey_signature: _sig, ...x3dh } = bundle;
    await alice.fails({ op: 'process_bundle', remote: bob.address, bundle: x3dh }, 'unsupported');
    assert.equal((await alice.session(bob)).exists, false);
    refused = true;
  }
  await alice.quit();
  await bob.quit();
  return refused;
}

/** Trust on first use, approve_identity, and exit at end of input. */
async function identities() {
  const alice = await new Peer('alice').init('alice', 1);
  const bob = await new Peer('bob').init('bob', 1);
  const { bundle } = await bob.ok({ op: 'bundle', one_time_prekey: true, kyber: true });
  await alice.ok({ op: 'process_bundle', remote: bob.address, bundle });
  const hello = Buffer.from('hello');
  await deliver(alice, bob, await alice.encrypt(bob, hello), hello);

  // Sending side: an impostor "bob" with another identity key.
  const fakeBob = await new Peer('fake-bob').init('bob', 1);
  const { bundle: fakeBundle } = await fakeBob.ok({ op: 'bundle', one_time_prekey: true, kyber: true });
  await alice.fails({ op: 'process_bundle', remote: bob.address, bundle: fakeBundle }, 'untrusted_identity');
  const still = Buffer.from('still you');
  await deliver(alice, bob, await alice.encrypt(bob, still), still);

  // Receiving side: an impostor "alice" reaches Bob with a fresh bundle of his.
  const fakeAlice = await new Peer('fake-alice').init('alice', 1);
  const { bundle: bundle2 } = await bob.ok({ op: 'bundle', one_time_prekey: true, kyber: true });
  await fakeAlice.ok({ op: 'process_bundle', remote: bob.address, bundle: bundle2 });
  const forged = Buffer.from('it is me, alice');
  const forgedMsg = await fakeAlice.encrypt(bob, forged);
  await bob.fails({ op: 'decrypt', remote: alice.address, ...forgedMsg }, 'untrusted_identity');
  // The refusal changed nothing: the real Alice still gets through.
  await deliver(bob, alice, await bob.encrypt(alice, hello), hello);
  await deliver(alice, bob, await alice.encrypt(bob, still), still);
  // Once approved, the very same message is accepted (its one-time prekeys were not used up).
  await bob.ok({ op: 'approve_identity', remote: alice.address, identity_key: fakeAlice.identityKey });
  await deliver(fakeAlice, bob, forgedMsg, forged);
  // ... and now the real Alice is the stranger.
  const late = Buffer.from('late');
  const lateMsg = await alice.encrypt(bob, late);
  await bob.fails({ op: 'decrypt', remote: alice.address, ...lateMsg }, 'untrusted_identity');

  // Approving on the sending side.
  await alice.ok({ op: 'approve_identity', remote: bob.address, identity_key: fakeBob.identityKey });
  await alice.ok({ op: 'process_bundle', remote: bob.address, bundle: fakeBundle });
  await deliver(alice, fakeBob, await alice.encrypt(fakeBob, hello), hello);
  const fp = await alice.ok({ op: 'fingerprint', local_id: 'a', remote_id: 'b', remote: bob.address });
  const fpFake = await fakeBob.ok({ op: 'fingerprint', local_id: 'b', remote_id: 'a', remote: alice.address });
  assert.equal(fp.displayable, fpFake.displayable);

  // End of input: exit 0 without quit.
  for (const p of [alice, bob, fakeBob, fakeAlice]) {
    p.child.stdin.end();
    assert.equal(await p.exited, 0, `${p.label}: exit code at end of input`);
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = process.hrtime.bigint();
  const ms = (since) => Number(process.hrtime.bigint() - since) / 1e6;
  let messages = 0;
  let conversations = 0;
  const noX3DH = await refusesX3DH();
  if (noX3DH) console.log('ok  X3DH refused as unsupported (bundle request and bundle without Kyber)');
  for (const kyber of [true, false]) {
    for (const oneTime of [true, false]) {
      if (!kyber && noX3DH) continue;
      const t = process.hrtime.bigint();
      const uuids = kyber && oneTime;
      messages += await conversation(oneTime, kyber, uuids ? UUID_NAMES : undefined);
      conversations++;
      const name = `${kyber ? 'PQXDH' : 'X3DH '} one_time_prekey=${oneTime}${uuids ? ' UUID names' : ''}`;
      console.log(`ok  conversation ${name}  ${ms(t).toFixed(0)} ms`);
    }
  }
  const t = process.hrtime.bigint();
  await identities();
  console.log(`ok  trust on first use, approve_identity, exit at end of input  ${ms(t).toFixed(0)} ms`);
  console.log(`PASS ${messages} messages in ${conversations} conversations, total ${ms(started).toFixed(0)} ms (${PEER_JS})`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`FAIL ${err.stack || err}`);
    for (const p of peers.filter((p) => p.stderr)) {
      console.error(`--- stderr of ${p.label}:\n${p.stderr}`);
    }
    process.exit(1);
  },
);
