'use strict';
// Interop peer (shared/interop/PEER.md) backed by @signalapp/libsignal-client 0.72.1, installed in
// this folder's node_modules. Run: node interop/node/peer.js
const { runPeer } = require('./peer-core.js');
runPeer(require('@signalapp/libsignal-client'));
