// Loads every generated proto with protobufjs, a parser that shares no code
// with protoc, and checks what a client in another language relies on: every
// rpc of the api.json is there, and every field keeps the API's member name
// as its json_name.
"use strict";
const fs = require("fs");
const path = require("path");
const protobuf = require("protobufjs");

const [protoRoot, specsRoot] = process.argv.slice(2);
let failures = 0;
for (const service of fs.readdirSync(path.join(protoRoot, "tencentcloud"))) {
  for (const version of fs.readdirSync(path.join(protoRoot, "tencentcloud", service))) {
    const rel = `tencentcloud/${service}/${version}/${service}.proto`;
    const api = JSON.parse(fs.readFileSync(
        path.join(specsRoot, service, version, "api.json"), "utf8"));
    try {
      const root = new protobuf.Root();
      root.resolvePath = (origin, target) => path.join(protoRoot, target);
      root.loadSync(rel, {keepCase: true});
      root.resolveAll();
      const pkg = root.lookup(`tencentcloud.${service}.${version}`);
      const svc = pkg.nestedArray.find((o) => o instanceof protobuf.Service);
      const online = Object.entries(api.actions)
          .filter(([, a]) => a.status === "online").map(([name]) => name);
      const missing = online.filter((name) => !svc.methods[name]);
      if (missing.length) throw new Error(`rpcs missing: ${missing.slice(0, 5)}`);
      let fields = 0;
      const walk = (ns) => {
        for (const o of ns.nestedArray || []) {
          if (o instanceof protobuf.Type) {
            for (const f of o.fieldsArray) {
              const jsonName = f.options && f.options.json_name;
              if (!jsonName) throw new Error(`${o.fullName}.${f.name} has no json_name`);
              fields++;
            }
          }
          walk(o);
        }
      };
      walk(pkg);
      console.log(`ok ${rel}: ${online.length} rpcs, ${fields} fields with json_name`);
    } catch (e) {
      failures++;
      console.log(`FAIL ${rel}: ${e.message}`);
    }
  }
}
process.exit(failures ? 1 : 0);
