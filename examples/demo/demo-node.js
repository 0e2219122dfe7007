'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// tlslocal-demo, step 4, the Node side: run by the demo as
//   node demo-node.js BINDING_DIR HELPER LOCAL_NAME REQUEST_ID
// with TLSLOCAL_LIBRARY set. On its one thread it sets request_id in the named local, lets the C
// helper (loaded with koffi) read it and answer in `reply`, and reads that reply back. Prints one
// tab-separated line for the demo: RESULT wrote c_read c_reply read_back, or ERROR why.

const [bindingDir, helperPath, localName, requestId] = process.argv.slice(2);

function fail(why) {
  console.log(`ERROR\t${String(why).split(/\s+/).join(' ')}`);
  process.exit(1);
}

let koffi;
let Local;
try {
  // The koffi the binding loads: the demo puts its build's node_modules on NODE_PATH, where
  // `bindings/node/setup.sh --into BUILD/bindings/node` installs it.
  koffi = require(require.resolve('koffi', { paths: [bindingDir] }));
} catch (error) {
  fail(`koffi is not installed (run: sh bindings/node/setup.sh --into BUILD/bindings/node): ` +
    `${error.code || error.message}`);
}
try {
  ({ Local } = require(bindingDir));
} catch (error) {
  fail(`cannot load the tlslocal binding: ${error.message}`);
}

const acknowledge = koffi.load(helperPath).func(
  'int tldemo_acknowledge(const char *local_name, _Out_ char *read_out, size_t read_size, ' +
  '_Out_ char *reply_out, size_t reply_size)');

const ctx = Local.open(localName); // the C local that tl_local_open(localName) gives C
ctx.set('request_id', requestId);
const cRead = Buffer.alloc(128);
const cReply = Buffer.alloc(128);
const status = acknowledge(localName, cRead, cRead.length, cReply, cReply.length);
if (status !== 0) fail(`the C helper failed: status ${status}`);
const text = (buffer) => buffer.toString('utf8', 0, buffer.indexOf(0));
console.log(['RESULT', requestId, text(cRead), text(cReply), ctx.get('reply', '(nothing)')].join('\t'));
ctx.close();
