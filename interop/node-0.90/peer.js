'use strict';
// Interop peer (shared/interop/PEER.md) backed by @signalapp/libsignal-client 0.90.0, installed in
// this folder's node_modules; the protocol itself is ../node/peer-core.js. Run: node interop/node-0.90/peer.js
const { runPeer } = require('../node/peer-core.js');
runPeer(require('@signalapp/libsignal-client'));
