/* Proof-of-work worker for the report's check page (intake/flood.py explains why).
 *
 * Finds a counter whose SHA-256 over "<challenge>:<counter>" starts with `bits` zero bits,
 * using WebCrypto (crypto.subtle.digest), and reports progress to the page. Served by us like
 * every script (CSP worker-src 'self'); the page works without it. */
"use strict";

var BATCH = 256;

function zeroBits(bytes) {
  var bits = 0;
  for (var i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) { bits += 8; continue; }
    var b = bytes[i];
    while ((b & 0x80) === 0) { bits += 1; b <<= 1; }
    return bits;
  }
  return bits;
}

self.onmessage = function (event) {
  var challenge = event.data.challenge;
  var bits = event.data.bits;
  var expected = Math.pow(2, bits);
  var encoder = new TextEncoder();
  var counter = 0;
  var step = function () {
    var tries = [];
    for (var i = 0; i < BATCH; i++) {
      tries.push(crypto.subtle.digest("SHA-256", encoder.encode(challenge + ":" + (counter + i))));
    }
    Promise.all(tries).then(function (digests) {
      for (var j = 0; j < digests.length; j++) {
        if (zeroBits(new Uint8Array(digests[j])) >= bits) {
          self.postMessage({ done: true, counter: String(counter + j) });
          return;
        }
      }
      counter += BATCH;
      // The expected share of the work done so far, capped below 100 until found.
      self.postMessage({ done: false, progress: Math.min(0.99, 1 - Math.exp(-counter / expected)) });
      step();
    }, function () {
      self.postMessage({ failed: true });
    });
  };
  step();
};
