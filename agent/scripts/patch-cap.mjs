#!/usr/bin/env node
// Runs after `npm ci` / `npm install` (package.json "postinstall"): patches npm cap 0.2.1's native
// binding so that a failed capture socket (the interface went down) is reported to JavaScript as a
// 'pollerror' event instead of an assert() that aborts the whole process, then rebuilds it.
// Why a patch: cap is the capture binding this project uses and no release fixes this; the change
// is one callback. Idempotent: a patched binding is left alone.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const capDir = join(root, 'node_modules/cap');
const binding = join(capDir, 'src/binding.cc');
const MARKER = 'tapflow patch: pollerror';

const ORIGINAL = `    static void cb_packets(uv_poll_t* handle, int status, int events) {
      assert(status == 0);
      Pcap *obj = (Pcap*)handle->data;
      int packet_count;
`;

const PATCHED = `    static void cb_packets(uv_poll_t* handle, int status, int events) {
      Pcap *obj = (Pcap*)handle->data;
      int packet_count;

      if (status != 0) {
        // ${MARKER}: the capture socket failed (e.g. the interface went down). Stop polling and
        // tell JavaScript ('pollerror', libuv status) instead of assert(), which aborted node.
        uv_poll_stop(&obj->poll_handle);
        if (!obj->closing) {
          Nan::HandleScope scope;
          Local<Value> argv[2] = {
            Nan::New<String>("pollerror").ToLocalChecked(),
            Nan::New<Number>(status)
          };
          obj->async_res.runInAsyncScope(Nan::New<Object>(obj->persistent()), Nan::New<Function>(obj->Emit), 2, argv);
        }
        return;
      }
`;

if (!existsSync(binding)) {
  console.error('patch-cap: node_modules/cap not installed; nothing to patch');
  process.exit(0);
}
const source = readFileSync(binding, 'utf8');
const built = existsSync(join(capDir, 'build/Release/cap.node'));
if (source.includes(MARKER) && built) process.exit(0);
if (!source.includes(MARKER)) {
  if (!source.includes(ORIGINAL)) {
    console.error('patch-cap: cap/src/binding.cc is not the 0.2.1 source this patch expects; not patched');
    process.exit(1);
  }
  writeFileSync(binding, source.replace(ORIGINAL, PATCHED));
}
// npm passes its bundled node-gyp to lifecycle scripts; outside npm, fall back to `npm rebuild`.
const nodeGyp = process.env.npm_config_node_gyp;
const result = nodeGyp
  ? spawnSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: capDir, stdio: 'inherit' })
  : spawnSync('npm', ['rebuild', 'cap'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('patch-cap: rebuilding cap failed');
  process.exit(1);
}
console.error('patch-cap: cap rebuilt with the pollerror patch');
