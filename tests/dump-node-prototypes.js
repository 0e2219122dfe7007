'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// Print, as JSON, every function the Node binding binds, as koffi itself parsed it: for each C name,
// the result's and each argument's koffi primitive ("Int32", "Pointer", "Callback"...) and size.
//   node dump-node-prototypes.js PATH/TO/_ffi.js     (TLSLOCAL_LIBRARY: the library to load)
// Read by check-binding-prototypes.py. koffi is found through NODE_PATH when _ffi.js is a copy.
const path = require('node:path');

const ffi = require(path.resolve(process.argv[2]));
const describe = (type) => ({ primitive: type.primitive, size: type.size, name: type.name });
const out = {};
for (const [name, fn] of Object.entries(ffi.raw)) {
  out[name] = {
    result: describe(fn.info.result),
    arguments: fn.info.arguments.map((argument) => describe(argument.type)),
  };
}
process.stdout.write(JSON.stringify(out));
