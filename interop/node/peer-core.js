'use strict';
//
// peer-core.js: the interop peer contract (PEER.md, version 1) on top of
// libsignal's Node binding, @signalapp/libsignal-client.
//
// The library module is passed in rather than required here, so that each folder that pins a
// libsignal version (interop/node for 0.72.1, interop/node-current for 0.103.0) reuses this file
// with a three-line peer.js:
//
//     const { runPeer } = require('../node/peer-core.js');
//     runPeer(require('@signalapp/libsignal-client'));
//
// One process is one local identity with one device. All state lives in memory and is lost at exit.
//
// Layout of this file:
//   1. error kinds and the mapping from library errors to them
//   2. request parsing (strict: a malformed request is `bad_request`, never a crash)
//   3. in-memory state and the five store classes libsignal calls back into
//   4. the operations
//   5. the line loop on stdin/stdout

const readline = require('node:readline');

// ---------------------------------------------------------------------------------------------
// 1. Errors

/** An error that already knows its PEER.md kind. */
class PeerError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Kinds for library errors that carry no specific ErrorCode. The Node binding gives most
 * SignalProtocolError variants the Generic code, so these rules read the error's text, which is
 * the variant's Display string from rust/protocol/src/error.rs. Rules are tried in order.
 */
const GENERIC_ERROR_RULES = [
  [/^message with old counter/, 'duplicate'], // DuplicatedMessage
  [/^untrusted identity for address/, 'untrusted_identity'], // UntrustedIdentity
  [/^session with .* not found/, 'no_session'], // SessionNotFound
  [/^invalid (?:signed |Kyber )?prekey identifier/, 'invalid_key_id'], // Invalid*PreKeyId
  [/no longer supported/, 'unsupported'], // e.g. newer libsignal refusing X3DH
  [/^invalid \w+ message: /, 'invalid_message'], // InvalidMessage: bad MAC, too far ahead, ...
  [
    new RegExp(
      '^(?:protobuf encoding was invalid' +
        '|ciphertext serialized bytes were too short' +
        '|ciphertext version was (?:too old|unrecognized)' +
        '|unrecognized message version' +
        '|invalid signature detected' +
        '|invalid key agreement' +
        '|no key type identifier' +
        '|bad key (?:type|length)' +
        '|bad KEM (?:key type|key length|ciphertext length)' +
        '|unexpected KEM key type)'
    ),
    'invalid_message',
  ],
];

/**
 * Maps an error thrown by a library call to a PEER.md error kind.
 *
 * `ctx` holds what our own stores observed during the call: libsignal reports a store's refusal
 * only as an opaque "error in method call" text, so the stores note the reason here instead.
 */
function errorKind(lib, err, ctx) {
  if (err instanceof PeerError) {
    return err.kind;
  }
  const codes = lib.ErrorCode || {};
  const code = err && err.code;
  if (code !== undefined && code !== codes.Generic) {
    // Compare by name: the numeric values differ between library versions.
    if (code === codes.DuplicatedMessage) return 'duplicate';
    if (code === codes.UntrustedIdentity) return 'untrusted_identity';
    if (code === codes.VerificationFailed) return 'invalid_message';
    return 'other'; // InvalidSession, InvalidRegistrationId, ...: corrupt or inconsistent state
  }
  if (ctx.missingKey) return 'invalid_key_id';
  if (ctx.refusedIdentity) return 'untrusted_identity';
  const text = String((err && err.message) || err);
  for (const [pattern, kind] of GENERIC_ERROR_RULES) {
    if (pattern.test(text)) return kind;
  }
  return 'other';
}

// ---------------------------------------------------------------------------------------------
// 2. Request parsing

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_U32 = 0xffffffff;

function badRequest(message) {
  return new PeerError('bad_request', message);
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function field(obj, key) {
  if (!(key in obj) || obj[key] === null) {
    throw badRequest(`missing field ${key}`);
  }
  return obj[key];
}

function integerField(obj, key, min, max) {
  const v = field(obj, key);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw badRequest(`${key} must be an integer in ${min}..${max}`);
  }
  return v;
}

function stringField(obj, key) {
  const v = field(obj, key);
  if (typeof v !== 'string') {
    throw badRequest(`${key} must be a string`);
  }
  return v;
}

/** An optional boolean: absent (or null) means false, as a Go `omitempty` encoder would send it. */
function flagField(obj, key) {
  const v = obj[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') {
    throw badRequest(`${key} must be a boolean`);
  }
  return v;
}

/** Standard base64 with padding, checked strictly (Node's own decoder skips bad characters). */
function bytesField(obj, key) {
  const v = stringField(obj, key);
  if (!STD_BASE64.test(v)) {
    throw badRequest(`${key} is not standard padded base64`);
  }
  return Buffer.from(v, 'base64');
}

function objectField(obj, key) {
  const v = field(obj, key);
  if (!isObject(v)) {
    throw badRequest(`${key} must be an object`);
  }
  return v;
}

function toBase64(bytes) {
  return Buffer.from(bytes).toString('base64');
}

/** Parses `{"name": ..., "device_id": ...}` into the name/device pair used as a map key. */
function addressField(obj, key) {
  const a = objectField(obj, key);
  const name = stringField(a, 'name');
  if (name === '') {
    throw badRequest(`${key}.name must not be empty`);
  }
  return { name, deviceId: integerField(a, 'device_id', 0, MAX_U32) };
}

// ---------------------------------------------------------------------------------------------
// 3. State and stores

/**
 * Minimal protobuf reader: returns the fields of `buf` as {number, wire, value}, where value is a
 * number for varints (wire 0) and a Buffer for everything else. Throws on truncated input.
 */
function readProtoFields(buf) {
  const fields = [];
  let pos = 0;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('protobuf: truncated varint');
      const b = buf[pos++];
      value += (b & 0x7f) * scale; // exact up to 2^53, enough for the numbers read here
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
  };
  const take = (n) => {
    if (pos + n > buf.length) throw new Error('protobuf: truncated field');
    const bytes = buf.subarray(pos, pos + n);
    pos += n;
    return bytes;
  };
  while (pos < buf.length) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) fields.push({ number, wire, value: varint() });
    else if (wire === 1) fields.push({ number, wire, value: take(8) });
    else if (wire === 2) fields.push({ number, wire, value: take(varint()) });
    else if (wire === 5) fields.push({ number, wire, value: take(4) });
    else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
  return fields;
}

/**
 * The session version (3 = X3DH, 4 = PQXDH) of a serialized SessionRecord's current state.
 * The Node binding has no accessor for it, so it is read from the record's storage protobuf:
 * RecordStructure.current_session = 1, SessionStructure.session_version = 1.
 */
function currentSessionVersion(recordBytes) {
  const current = readProtoFields(recordBytes).find((f) => f.number === 1 && f.wire === 2);
  if (!current) return null;
  const version = readProtoFields(current.value).find((f) => f.number === 1 && f.wire === 0);
  return version ? version.value : 0;
}

function addressKey(name, deviceId) {
  return JSON.stringify([name, deviceId]);
}

function storeKey(protocolAddress) {
  return addressKey(protocolAddress.name(), protocolAddress.deviceId());
}

/**
 * Everything the peer remembers. Values are serialized records and keys (immutable Buffers), so a
 * snapshot is a copy of the maps, and a failed request is undone by restoring it.
 */
class PeerState {
  constructor() {
    this.local = null; // set by init: {name, deviceId, registrationId, identity, address}
    this.sessions = new Map(); // addressKey -> serialized SessionRecord
    this.trusted = new Map(); // addressKey -> serialized identity PublicKey
    this.preKeys = new Map(); // id -> serialized PreKeyRecord
    this.signedPreKeys = new Map(); // id -> serialized SignedPreKeyRecord
    this.kyberPreKeys = new Map(); // id -> serialized KyberPreKeyRecord
    this.nextId = { preKey: 1, signedPreKey: 1, kyberPreKey: 1 };
    // What the stores observed during the current request (see errorKind).
    this.ctx = { missingKey: null, refusedIdentity: false };
  }

  snapshot() {
    return {
      sessions: new Map(this.sessions),
      trusted: new Map(this.trusted),
      preKeys: new Map(this.preKeys),
      signedPreKeys: new Map(this.signedPreKeys),
      kyberPreKeys: new Map(this.kyberPreKeys),
      nextId: { ...this.nextId },
    };
  }

  restore(saved) {
    Object.assign(this, saved);
  }
}

/** Builds the store classes for this library module; each store reads and writes `state`. */
function makeStores(lib, state) {
  const missing = (what, id) => {
    state.ctx.missingKey = `${what} ${id}`;
    return new Error(`no ${what} with id ${id}`);
  };

  class MemorySessionStore extends lib.SessionStore {
    async saveSession(address, record) {
      state.sessions.set(storeKey(address), Buffer.from(record.serialize()));
    }
    async getSession(address) {
      const bytes = state.sessions.get(storeKey(address));
      return bytes ? lib.SessionRecord.deserialize(bytes) : null;
    }
    async getExistingSessions(addresses) {
      return Promise.all(addresses.map(async (address) => {
        const record = await this.getSession(address);
        if (!record) throw new Error(`no session for ${address.name()}.${address.deviceId()}`);
        return record;
      }));
    }
  }

  // Trust on first use, per name and device. A key that differs from the trusted one is refused
  // until approve_identity replaces the trusted key; saveIdentity never replaces it on its own.
  class MemoryIdentityKeyStore extends lib.IdentityKeyStore {
    async getIdentityKey() {
      return state.local.identity.privateKey;
    }
    async getLocalRegistrationId() {
      return state.local.registrationId;
    }
    async saveIdentity(address, key) {
      const id = storeKey(address);
      const bytes = Buffer.from(key.serialize());
      const trusted = state.trusted.get(id);
      if (trusted && !trusted.equals(bytes)) {
        // libsignal checks isTrustedIdentity first, so this is a second line of defence.
        state.ctx.refusedIdentity = true;
        throw new Error(`identity for ${id} differs from the trusted one`);
      }
      state.trusted.set(id, bytes);
      return lib.IdentityChange.NewOrUnchanged;
    }
    async isTrustedIdentity(address, key /* , direction: the same rule both ways */) {
      const trusted = state.trusted.get(storeKey(address));
      return !trusted || trusted.equals(Buffer.from(key.serialize()));
    }
    async getIdentity(address) {
      const trusted = state.trusted.get(storeKey(address));
      return trusted ? lib.PublicKey.deserialize(trusted) : null;
    }
  }

  class MemoryPreKeyStore extends lib.PreKeyStore {
    async savePreKey(id, record) {
      state.preKeys.set(id, Buffer.from(record.serialize()));
    }
    async getPreKey(id) {
      const bytes = state.preKeys.get(id);
      if (!bytes) throw missing('prekey', id);
      return lib.PreKeyRecord.deserialize(bytes);
    }
    async removePreKey(id) {
      state.preKeys.delete(id);
    }
  }

  class MemorySignedPreKeyStore extends lib.SignedPreKeyStore {
    async saveSignedPreKey(id, record) {
      state.signedPreKeys.set(id, Buffer.from(record.serialize()));
    }
    async getSignedPreKey(id) {
      const bytes = state.signedPreKeys.get(id);
      if (!bytes) throw missing('signed prekey', id);
      return lib.SignedPreKeyRecord.deserialize(bytes);
    }
  }

  // Every Kyber prekey this peer hands out is one-time (PEER.md), so "used" means "delete".
  // Newer libraries pass extra arguments (signed prekey id, base key); they are not needed here.
  class MemoryKyberPreKeyStore extends lib.KyberPreKeyStore {
    async saveKyberPreKey(id, record) {
      state.kyberPreKeys.set(id, Buffer.from(record.serialize()));
    }
    async getKyberPreKey(id) {
      const bytes = state.kyberPreKeys.get(id);
      if (!bytes) throw missing('Kyber prekey', id);
      return lib.KyberPreKeyRecord.deserialize(bytes);
    }
    async markKyberPreKeyUsed(id) {
      state.kyberPreKeys.delete(id);
    }
  }

  return {
    sessions: new MemorySessionStore(),
    identities: new MemoryIdentityKeyStore(),
    preKeys: new MemoryPreKeyStore(),
    signedPreKeys: new MemorySignedPreKeyStore(),
    kyberPreKeys: new MemoryKyberPreKeyStore(),
  };
}

// ---------------------------------------------------------------------------------------------
// 4. Operations

const FINGERPRINT_VERSION = 2;
const FINGERPRINT_ITERATIONS = 5200;
const MAX_REGISTRATION_ID = 16380;
const MESSAGE_TYPE_SIGNAL = 2; // CiphertextMessageType.Whisper
const MESSAGE_TYPE_PREKEY = 3; // CiphertextMessageType.PreKey

/**
 * Whether the library builds a PreKeyBundle without a Kyber prekey (for X3DH). libsignal 0.72.1
 * does; 0.103.0 does not (its PreKeyBundle.new requires the Kyber arguments). Checked once per
 * process with throwaway keys.
 */
function acceptsBundleWithoutKyber(lib) {
  const identity = lib.IdentityKeyPair.generate();
  const signed = lib.PrivateKey.generate().getPublicKey();
  try {
    lib.PreKeyBundle.new(1, 1, null, null, 1, signed, identity.privateKey.sign(signed.serialize()),
      identity.publicKey, null, null, null);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates a peer for the given library module. `handle(request)` takes one parsed request and
 * resolves to its reply object; it never rejects. Requests must be handled one at a time.
 */
function createPeer(lib, { log = () => {} } = {}) {
  const state = new PeerState();
  const stores = makeStores(lib, state);

  // libsignal >= 0.9x takes the local address after the remote one in these four calls.
  const takesLocalAddress = lib.signalDecrypt.length >= 5;
  const withLocal = (remote) => (takesLocalAddress ? [remote, state.local.address] : [remote]);
  // libsignal 0.103.0 only does PQXDH: it cannot even build a bundle without a Kyber prekey.
  const x3dh = acceptsBundleWithoutKyber(lib);

  function requireInit() {
    if (!state.local) throw badRequest('init first');
  }

  /** A ProtocolAddress for a parsed address; the library may refuse some names or devices. */
  function protocolAddress({ name, deviceId }) {
    try {
      return lib.ProtocolAddress.new(name, deviceId);
    } catch (err) {
      throw badRequest(`invalid address: ${err.message}`);
    }
  }

  /** Deserializes key bytes that came from the remote side; bad bytes are `invalid_message`. */
  function remoteKey(kind, what, bytes) {
    try {
      return kind.deserialize(bytes);
    } catch (err) {
      throw new PeerError('invalid_message', `${what}: ${err.message}`);
    }
  }

  function sessionRecord(address) {
    const bytes = state.sessions.get(addressKey(address.name, address.deviceId));
    return bytes ? lib.SessionRecord.deserialize(bytes) : null;
  }

  function init(req) {
    if (state.local) throw badRequest('already initialised');
    const name = stringField(req, 'name');
    const deviceId = integerField(req, 'device_id', 0, MAX_U32);
    const registrationId = integerField(req, 'registration_id', 1, MAX_REGISTRATION_ID);
    const address = protocolAddress({ name, deviceId });
    const identity = lib.IdentityKeyPair.generate();
    state.local = { name, deviceId, registrationId, identity, address };
    log(`init ${name}.${deviceId}`);
    return { identity_key: toBase64(identity.publicKey.serialize()) };
  }

  /** A fresh signed prekey, plus optional one-time EC and Kyber prekeys, all kept in the stores. */
  function bundle(req) {
    requireInit();
    const withOneTime = flagField(req, 'one_time_prekey');
    const withKyber = flagField(req, 'kyber');
    if (!withKyber && !x3dh) {
      // A session started from it would be X3DH, which this library refuses.
      throw new PeerError('unsupported', 'this libsignal does only PQXDH: a bundle needs a Kyber prekey');
    }
    const identity = state.local.identity;
    const now = Date.now();

    const signedId = state.nextId.signedPreKey++;
    const signedPrivate = lib.PrivateKey.generate();
    const signedPublic = signedPrivate.getPublicKey();
    const signedSignature = identity.privateKey.sign(signedPublic.serialize());
    const signedRecord = lib.SignedPreKeyRecord.new(
      signedId, now, signedPublic, signedPrivate, signedSignature);
    state.signedPreKeys.set(signedId, Buffer.from(signedRecord.serialize()));

    const out = {
      registration_id: state.local.registrationId,
      device_id: state.local.deviceId,
      identity_key: toBase64(identity.publicKey.serialize()),
      signed_prekey_id: signedId,
      signed_prekey: toBase64(signedPublic.serialize()),
      signed_prekey_signature: toBase64(signedSignature),
    };

    if (withOneTime) {
      const id = state.nextId.preKey++;
      const privateKey = lib.PrivateKey.generate();
      const publicKey = privateKey.getPublicKey();
      state.preKeys.set(id, Buffer.from(lib.PreKeyRecord.new(id, publicKey, privateKey).serialize()));
      out.prekey_id = id;
      out.prekey = toBase64(publicKey.serialize());
    }

    if (withKyber) {
      const id = state.nextId.kyberPreKey++;
      const keyPair = lib.KEMKeyPair.generate();
      const publicKey = keyPair.getPublicKey();
      const signature = identity.privateKey.sign(publicKey.serialize());
      const record = lib.KyberPreKeyRecord.new(id, now, keyPair, signature);
      state.kyberPreKeys.set(id, Buffer.from(record.serialize()));
      out.kyber_prekey_id = id;
      out.kyber_prekey = toBase64(publicKey.serialize());
      out.kyber_prekey_signature = toBase64(signature);
    }
    return { bundle: out };
  }

  /** Parses a PEER.md bundle object into a library PreKeyBundle. */
  function parseBundle(b) {
    const u32 = (key) => integerField(b, key, 0, MAX_U32);
    const has = (key) => b[key] !== undefined && b[key] !== null;
    const registrationId = u32('registration_id');
    const deviceId = u32('device_id');
    const identityKey = remoteKey(lib.PublicKey, 'identity_key', bytesField(b, 'identity_key'));
    const signedId = u32('signed_prekey_id');
    const signedKey = remoteKey(lib.PublicKey, 'signed_prekey', bytesField(b, 'signed_prekey'));
    const signedSignature = bytesField(b, 'signed_prekey_signature');

    let preKeyId = null;
    let preKey = null;
    if (has('prekey_id') || has('prekey')) {
      preKeyId = u32('prekey_id');
      preKey = remoteKey(lib.PublicKey, 'prekey', bytesField(b, 'prekey'));
    }

    let kyberId = null;
    let kyberKey = null;
    let kyberSignature = null;
    if (has('kyber_prekey_id') || has('kyber_prekey') || has('kyber_prekey_signature')) {
      kyberId = u32('kyber_prekey_id');
      kyberKey = remoteKey(lib.KEMPublicKey, 'kyber_prekey', bytesField(b, 'kyber_prekey'));
      kyberSignature = bytesField(b, 'kyber_prekey_signature');
    } else if (!x3dh) {
      throw new PeerError('unsupported', 'this libsignal does only PQXDH: the bundle has no Kyber prekey');
    }

    try {
      return lib.PreKeyBundle.new(registrationId, deviceId, preKeyId, preKey, signedId, signedKey,
        signedSignature, identityKey, kyberId, kyberKey, kyberSignature);
    } catch (err) {
      // Newer libraries require a Kyber prekey in every bundle.
      if (kyberKey === null) {
        throw new PeerError('unsupported', `bundle without Kyber prekey: ${err.message}`);
      }
      throw err;
    }
  }

  async function processBundle(req) {
    requireInit();
    const remote = protocolAddress(addressField(req, 'remote'));
    const preKeyBundle = parseBundle(objectField(req, 'bundle'));
    await lib.processPreKeyBundle(preKeyBundle, ...withLocal(remote),
      stores.sessions, stores.identities);
    return {};
  }

  async function encrypt(req) {
    requireInit();
    const address = addressField(req, 'remote');
    const plaintext = bytesField(req, 'plaintext');
    if (!sessionRecord(address)) throw new PeerError('no_session', 'no session with remote');
    const message = await lib.signalEncrypt(plaintext, ...withLocal(protocolAddress(address)),
      stores.sessions, stores.identities);
    return { type: message.type(), ciphertext: toBase64(message.serialize()) };
  }

  async function decrypt(req) {
    requireInit();
    const address = addressField(req, 'remote');
    const type = integerField(req, 'type', 0, MAX_U32);
    const ciphertext = bytesField(req, 'ciphertext');
    const remote = protocolAddress(address);
    let plaintext;
    if (type === MESSAGE_TYPE_SIGNAL) {
      const message = remoteKey(lib.SignalMessage, 'SignalMessage', ciphertext);
      if (!sessionRecord(address)) throw new PeerError('no_session', 'no session with remote');
      plaintext = await lib.signalDecrypt(message, ...withLocal(remote),
        stores.sessions, stores.identities);
    } else if (type === MESSAGE_TYPE_PREKEY) {
      const message = remoteKey(lib.PreKeySignalMessage, 'PreKeySignalMessage', ciphertext);
      plaintext = await lib.signalDecryptPreKey(message, ...withLocal(remote),
        stores.sessions, stores.identities, stores.preKeys, stores.signedPreKeys, stores.kyberPreKeys);
    } else {
      throw badRequest(`type must be ${MESSAGE_TYPE_SIGNAL} or ${MESSAGE_TYPE_PREKEY}`);
    }
    return { plaintext: toBase64(plaintext) };
  }

  function session(req) {
    requireInit();
    const record = sessionRecord(addressField(req, 'remote'));
    if (!record || !record.hasCurrentState()) return { exists: false };
    return { exists: true, version: currentSessionVersion(Buffer.from(record.serialize())) };
  }

  function fingerprint(req) {
    requireInit();
    const localId = Buffer.from(stringField(req, 'local_id'), 'utf8');
    const remoteId = Buffer.from(stringField(req, 'remote_id'), 'utf8');
    const { name, deviceId } = addressField(req, 'remote');
    const trusted = state.trusted.get(addressKey(name, deviceId));
    if (!trusted) throw new PeerError('no_session', 'no identity known for remote');
    const fp = lib.Fingerprint.new(FINGERPRINT_ITERATIONS, FINGERPRINT_VERSION,
      localId, state.local.identity.publicKey, remoteId, lib.PublicKey.deserialize(trusted));
    return {
      displayable: fp.displayableFingerprint().toString(),
      scannable: toBase64(fp.scannableFingerprint().toBuffer()),
    };
  }

  function approveIdentity(req) {
    requireInit();
    const { name, deviceId } = addressField(req, 'remote');
    const bytes = bytesField(req, 'identity_key');
    let key;
    try {
      key = lib.PublicKey.deserialize(bytes);
    } catch (err) {
      throw badRequest(`identity_key: ${err.message}`);
    }
    state.trusted.set(addressKey(name, deviceId), Buffer.from(key.serialize()));
    return {};
  }

  const OPS = {
    init,
    bundle,
    process_bundle: processBundle,
    encrypt,
    decrypt,
    session,
    fingerprint,
    approve_identity: approveIdentity,
    quit: () => ({}),
  };

  async function handle(req) {
    if (!isObject(req)) return failure('bad_request', 'request must be a JSON object');
    const op = typeof req.op === 'string' && Object.hasOwn(OPS, req.op) ? OPS[req.op] : null;
    if (!op) return failure('bad_request', `unknown op ${JSON.stringify(req.op)}`);

    // Every request is all-or-nothing: on any error the state goes back to what it was.
    const saved = state.snapshot();
    state.ctx = { missingKey: null, refusedIdentity: false };
    try {
      return { ok: true, ...(await op(req)) };
    } catch (err) {
      state.restore(saved);
      const kind = errorKind(lib, err, state.ctx);
      log(`${req.op}: ${kind}: ${err.message}`);
      return failure(kind, String(err.message || err));
    }
  }

  return { handle };
}

function failure(kind, message) {
  return { ok: false, error: { kind, message } };
}

// ---------------------------------------------------------------------------------------------
// 5. Line loop

/**
 * Runs a peer on stdin/stdout until `quit` or the end of input, then exits 0. Requests are
 * handled strictly in order, one at a time, even though library calls are asynchronous.
 * Set BLINDPOST_PEER_DEBUG=1 to log requests (op and error kind only) to stderr.
 */
function runPeer(lib, { input = process.stdin, output = process.stdout } = {}) {
  const debug = Boolean(process.env.BLINDPOST_PEER_DEBUG);
  const log = debug ? (msg) => process.stderr.write(`node-peer: ${msg}\n`) : () => {};
  const peer = createPeer(lib, { log });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let queue = Promise.resolve();
  let done = false;

  const exit = () => {
    done = true;
    // Writes to a pipe are synchronous on Linux; the empty write flushes anything buffered.
    output.write('', () => process.exit(0));
  };
  output.on('error', (err) => {
    process.stderr.write(`node-peer: stdout: ${err.message}\n`);
    process.exit(0); // the referee has gone away
  });

  lines.on('line', (line) => {
    if (line.trim() === '') return;
    queue = queue.then(async () => {
      if (done) return;
      let req;
      try {
        req = JSON.parse(line);
      } catch (err) {
        output.write(JSON.stringify(failure('bad_request', `invalid JSON: ${err.message}`)) + '\n');
        return;
      }
      const reply = await peer.handle(req);
      output.write(JSON.stringify(reply) + '\n');
      if (reply.ok && req.op === 'quit') {
        lines.close();
        exit();
      }
    }).catch((err) => {
      // Only a failed write can land here; keep the queue alive for the next request.
      process.stderr.write(`node-peer: internal error: ${err.stack || err}\n`);
    });
  });
  lines.on('close', () => {
    queue.then(() => {
      if (!done) exit();
    });
  });
}

module.exports = { runPeer, createPeer, errorKind, readProtoFields, currentSessionVersion, PeerError };
