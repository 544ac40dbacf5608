#!/usr/bin/env node
// Validates rendered Kubernetes manifests (kubectl kustomize output) offline:
//
// 1. every object against the Kubernetes API schema of its kind, with the
//    model classes of the npm package kubernetes-models
//    (`new Deployment(obj).validate()`): types, enums, required fields;
// 2. no unknown field anywhere (a typo such as `readinesProbe` is silently
//    dropped by the API server's non-strict decoding), using the field lists
//    of the same package's type declarations;
// 3. the envelope-gateway sidecar's invariants, read together with the config
//    file the sidecar actually loads (the ConfigMap behind --config): native
//    sidecar, non-root and locked down, /tmp emptyDir, probes on the right
//    ports and paths, container ports = listen/admin_listen, no listen or
//    admin port reachable from the whole cluster (loopback, or a
//    NetworkPolicy that admits it only from somewhere), a unix socket shared
//    through an emptyDir with an app that can connect to it, PodMonitors that
//    reach the admin port, no prometheus.io/port claiming it, Secret mount =
//    secret_dir, TKE OIDC wiring, terminationGracePeriodSeconds >
//    shutdown_grace, an image that was really set.
//
//   node validate_manifests.js FILE.yaml...     exit 1 on any finding
//   node validate_manifests.js --self-test FILE.yaml
//        breaks FILE's objects in known ways and checks each is caught.
//
// Modules come from NODE_PATH (tests/deploy/lib.sh installs them with
// `npm ci` from tests/deploy/package-lock.json into a cache directory).
'use strict';

const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

// ---------------------------------------------------------------- schemas

function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' ||
      !/^[A-Za-z0-9.\-/]+$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) {
    return null;
  }
  const pkg = apiVersion.startsWith('monitoring.coreos.com/') ?
      '@kubernetes-models/prometheus-operator' : 'kubernetes-models';
  const id = `${pkg}/${apiVersion}/${kind}`;
  try {
    const mod = require(id);
    const cls = mod[kind];
    return cls ? {cls, file: require.resolve(id)} : null;
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return null;
    throw e;
  }
}

// Field lists from the package's .d.ts files: `export interface IX { "f"?: T; }`.
const dtsCache = new Map();

function dtsFor(jsOrModule, fromDir) {
  let resolved;
  if (jsOrModule.startsWith('.')) {
    resolved = path.resolve(fromDir, jsOrModule) + '.d.ts';
  } else {
    try {
      resolved = require.resolve(jsOrModule).replace(/\.(c|m)?js$/, '.d.ts');
    } catch (e) {
      return null;
    }
  }
  return fs.existsSync(resolved) ? resolved : null;
}

function parseDts(file) {
  if (dtsCache.has(file)) return dtsCache.get(file);
  const text = fs.readFileSync(file, 'utf8');
  const imports = {};
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const part of m[1].split(',')) {
      const names = part.trim().split(/\s+as\s+/);
      if (names[0]) imports[(names[1] || names[0]).trim()] = m[2];
    }
  }
  let props = null;
  const iface = text.match(/^export interface \w+(?: extends [^{]+)? \{\n([\s\S]*?)^\}/m);
  if (iface) {
    props = {};
    for (const line of iface[1].split('\n')) {
      const p = line.match(/^ {4}"([^"]+)"\??: (.*?);?$/);
      if (p) props[p[1]] = p[2];
    }
  }
  const parsed = {file, props, imports};
  dtsCache.set(file, parsed);
  return parsed;
}

// The .d.ts of a property's type, if it is one of the package's interfaces.
function childDts(parsed, typeText) {
  let t = typeText.trim();
  const arr = t.match(/^Array<(\w+)>$/);
  if (arr) t = arr[1];
  if (!/^I\w+$/.test(t) || !parsed.imports[t]) return null;
  const file = dtsFor(parsed.imports[t], path.dirname(parsed.file));
  return file ? {file, isArray: !!arr} : null;
}

function closest(word, candidates) {
  let best = null;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a, b) {
  const row = Array.from({length: b.length + 1}, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

function checkUnknownFields(value, dtsFile, where, report) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const parsed = parseDts(dtsFile);
  if (!parsed.props) return;  // a type alias (IntOrString, Quantity...): a leaf
  for (const [key, child] of Object.entries(value)) {
    if (!(key in parsed.props)) {
      const hint = closest(key, Object.keys(parsed.props));
      report(`${where}.${key}: unknown field${hint ? ` (did you mean "${hint}"?)` : ''}`);
      continue;
    }
    const sub = childDts(parsed, parsed.props[key]);
    if (!sub) continue;
    if (sub.isArray && Array.isArray(child)) {
      child.forEach((item, i) => checkUnknownFields(item, sub.file, `${where}.${key}[${i}]`, report));
    } else if (!sub.isArray) {
      checkUnknownFields(child, sub.file, `${where}.${key}`, report);
    }
  }
}

function validateSchema(obj, label, report) {
  const model = modelClass(obj.apiVersion, obj.kind);
  if (!model) {
    report(`${label}: no Kubernetes API model for apiVersion "${obj.apiVersion}" kind "${obj.kind}"`);
    return;
  }
  try {
    new model.cls(obj).validate();
  } catch (e) {
    const details = Array.isArray(e.errors) ?
        e.errors.map((x) => `${x.instancePath || '/'} ${x.message}` +
                            (x.params && x.params.allowedValues ? ` ${JSON.stringify(x.params.allowedValues)}` : ''))
            .join('; ') :
        e.message;
    report(`${label}: does not match the ${obj.apiVersion} ${obj.kind} schema: ${details}`);
  }
  const dts = model.file.replace(/\.(c|m)?js$/, '.d.ts');
  if (fs.existsSync(dts)) checkUnknownFields(obj, dts, label, report);
}

// ---------------------------------------------------------------- gateway

const GATEWAY_UID = 65532;
const CONFIG_DEFAULTS = {
  listen: ['127.0.0.1:50051'],
  admin_listen: '127.0.0.1:9901',
  shutdown_grace: '20s',
  secret_dir: '',
  credential_sources: [],
};

function parseDurationSeconds(text) {
  const s = String(text).trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    if (m.index !== consumed) return NaN;
    consumed += m[0].length;
    const scale = {ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600}[m[2]];
    total += parseFloat(m[1]) * scale;
  }
  return consumed === s.length && consumed > 0 ? total : NaN;
}

// "host:port", "[v6]:port", "unix:/path" -> {host, port, unix}
function parseAddress(text) {
  const s = String(text).trim();
  if (s.startsWith('unix:')) return {unix: true, host: '', port: null};
  const m = s.match(/^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/);
  if (!m) return null;
  return {unix: false, host: m[1] !== undefined ? m[1] : m[2], port: Number(m[3])};
}

function isLoopback(host) {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

// The sidecar's own flags (--key=value or --key value), dashes = underscores.
function parseArgs(args) {
  const flags = {};
  for (let i = 0; i < (args || []).length; i++) {
    const a = String(args[i]);
    if (!a.startsWith('--')) continue;
    let [name, value] = a.slice(2).split(/=(.*)/s);
    name = name.replace(/-/g, '_');
    if (value === undefined && i + 1 < args.length && !String(args[i + 1]).startsWith('--')) {
      value = String(args[++i]);
    }
    (flags[name] = flags[name] || []).push(value === undefined ? '' : value);
  }
  return flags;
}

function asList(v) {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String);
  return String(v).split(',').map((x) => x.trim()).filter(Boolean);
}

function isGatewayContainer(c) {
  return c && (c.name === 'envelope-gateway' ||
               /(^|\/)envelope-gateway([:@]|$)/.test(String(c.image || '')));
}

function podTemplates(obj) {
  const out = [];
  const spec = obj.spec || {};
  if (obj.kind === 'Pod') out.push({spec, meta: obj.metadata || {}, where: 'spec'});
  if (spec.template && spec.template.spec) {
    out.push({spec: spec.template.spec, meta: spec.template.metadata || {}, where: 'spec.template.spec'});
  }
  const jt = spec.jobTemplate && spec.jobTemplate.spec && spec.jobTemplate.spec.template;
  if (jt && jt.spec) out.push({spec: jt.spec, meta: jt.metadata || {}, where: 'spec.jobTemplate.spec.template.spec'});
  return out;
}

function findConfig(gw, pod, objects, report, label) {
  const flags = parseArgs(gw.args);
  const configPath = (flags.config || flags.check_config || [])[0];
  let file = {};
  if (!configPath) {
    report(`${label}: no --config argument; the sidecar must name its config file (the ConfigMap) so it can be checked`);
    return null;
  }
  const mounts = (gw.volumeMounts || []).filter((m) =>
      configPath === m.mountPath || configPath.startsWith(m.mountPath.replace(/\/$/, '') + '/'));
  mounts.sort((a, b) => b.mountPath.length - a.mountPath.length);
  const mount = mounts[0];
  if (!mount) {
    report(`${label}: --config=${configPath} is not inside any volumeMount of the sidecar`);
    return null;
  }
  const volume = (pod.volumes || []).find((v) => v.name === mount.name);
  if (!volume || !volume.configMap) {
    report(`${label}: --config=${configPath} is on volume "${mount.name}", which is not a configMap volume`);
    return null;
  }
  let rel = mount.subPath ? mount.subPath :
      path.posix.relative(mount.mountPath, configPath);
  const items = volume.configMap.items;
  if (items && !mount.subPath) {
    const item = items.find((it) => it.path === rel);
    if (!item) {
      report(`${label}: ConfigMap volume "${mount.name}" has no item with path ${rel}`);
      return null;
    }
    rel = item.key;
  }
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata && o.metadata.name === volume.configMap.name);
  if (!cm) {
    report(`${label}: ConfigMap "${volume.configMap.name}" (for --config) is not in the rendered output`);
    return null;
  }
  const text = (cm.data || {})[rel];
  if (text === undefined) {
    report(`${label}: ConfigMap "${cm.metadata.name}" has no key "${rel}" (for --config=${configPath})`);
    return null;
  }
  try {
    file = YAML.parse(text) || {};
  } catch (e) {
    report(`${label}: ConfigMap "${cm.metadata.name}" key "${rel}" is not YAML: ${e.message}`);
    return null;
  }
  if (typeof file !== 'object' || Array.isArray(file)) {
    report(`${label}: config ${rel} is not a map of keys`);
    return null;
  }
  // A key given as a flag replaces what the file says about it.
  const eff = Object.assign({}, CONFIG_DEFAULTS);
  for (const [k, v] of Object.entries(file)) eff[k] = v === null ? '' : v;
  for (const [k, v] of Object.entries(flags)) {
    if (k === 'config') continue;
    eff[k] = Array.isArray(CONFIG_DEFAULTS[k]) ? v.flatMap(asList) : v[v.length - 1];
  }
  eff.listen = asList(eff.listen);
  eff.credential_sources = asList(eff.credential_sources);
  eff.admin_listen = eff.admin_listen === undefined ? '' : String(eff.admin_listen);
  eff.secret_dir = eff.secret_dir ? String(eff.secret_dir) : '';
  return {config: eff, where: `ConfigMap ${cm.metadata.name} key ${rel}`};
}

function resolvePort(container, port) {
  if (typeof port === 'number') return port;
  const p = (container.ports || []).find((x) => x.name === port);
  return p ? p.containerPort : null;
}

// The base's exec probe: bash sends the GET through /dev/tcp (the image has
// no HTTP client). {port, path}, or null for any other command.
const EXEC_PROBE = new RegExp('^exec 3<>/dev/tcp/127\\.0\\.0\\.1/(\\d+) && ' +
    "printf 'GET (/\\S*) HTTP/1\\.0\\\\r\\\\n\\\\r\\\\n' >&3 && " +
    "read -r _ code _ <&3 && \\[ \"\\$\\{code%\\$'\\\\r'\\}\" = 200 \\]$");

function parseExecProbe(command) {
  if (!Array.isArray(command) || command.length !== 3 || command[0] !== '/bin/bash' || command[1] !== '-c') return null;
  const m = String(command[2]).match(EXEC_PROBE);
  return m ? {port: Number(m[1]), path: m[2]} : null;
}

function labelsMatch(selector, labels) {
  if (!selector || selector.matchExpressions) return false;  // not needed here
  return Object.entries(selector.matchLabels || {}).every(([k, v]) => (labels || {})[k] === v);
}

// Does a NetworkPolicy ingress rule admit TCP `port` (named `names` in the pod)?
function ruleAdmits(rule, port, names) {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((p) => {
    if ((p.protocol || 'TCP') !== 'TCP') return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') return names.includes(p.port);
    return p.endPort ? p.port <= port && port <= p.endPort : p.port === port;
  });
}

// An address the pod's IP reaches: only a NetworkPolicy that admits its port
// from named peers keeps the rest of the cluster out. Returns the finding.
function clusterExposure(what, address, port, gw, meta, objects) {
  const names = (gw.ports || []).filter((p) => p.containerPort === port).map((p) => p.name).filter(Boolean);
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && o.spec &&
      labelsMatch(o.spec.podSelector, meta.labels) &&
      ((o.spec.policyTypes || []).includes('Ingress') || (!o.spec.policyTypes && o.spec.ingress)));
  const why = what === 'admin_listen' ? 'GET /metrics' : 'API calls signed with this pod\'s credentials';
  if (!policies.length) {
    return `${what} ${address} is open to the whole cluster (${why}) and no NetworkPolicy selects the pod: ` +
        'bind it to 127.0.0.1, or admit its port only from where it must be reached (deploy/kubernetes/examples/prometheus)';
  }
  for (const np of policies) {
    for (const rule of np.spec.ingress || []) {
      if (ruleAdmits(rule, port, names) && !(rule.from || []).length) {
        return `NetworkPolicy ${np.metadata.name} admits port ${port} (${what} ${address}: ${why}) from everywhere: name the peers in from`;
      }
    }
  }
  return null;
}

function checkGateway(gw, pod, meta, podWhere, objects, label, report) {
  const {config, where: cfgWhere} = findConfig(gw, pod, objects, report, label) || {};
  if (!config) return null;

  // Native sidecar: an init container that keeps running.
  if (gw.restartPolicy !== 'Always' || !(pod.initContainers || []).includes(gw)) {
    report(`${label}: not a native sidecar: put it in initContainers with restartPolicy: Always ` +
           '(it must start before and stop after the app; docs/operations.md)');
  }

  // Image: set by the kustomization's `images:`, pinned.
  const image = String(gw.image || '');
  if (!/[:@]/.test(image.replace(/^[^/]*:\d+\//, '')) || /:latest$/.test(image)) {
    report(`${label}: image "${image}" has no tag or digest (or is :latest): set it with images: newName/newTag in the kustomization`);
  }

  // Security context (container level over pod level).
  const psc = pod.securityContext || {};
  const sc = gw.securityContext || {};
  const eff = (k) => (sc[k] !== undefined ? sc[k] : psc[k]);
  if (eff('runAsNonRoot') !== true) report(`${label}: securityContext.runAsNonRoot must be true`);
  if (eff('runAsUser') !== GATEWAY_UID) report(`${label}: securityContext.runAsUser must be ${GATEWAY_UID} (the image's user), is ${eff('runAsUser')}`);
  if (sc.readOnlyRootFilesystem !== true) report(`${label}: securityContext.readOnlyRootFilesystem must be true`);
  if (sc.allowPrivilegeEscalation !== false) report(`${label}: securityContext.allowPrivilegeEscalation must be false`);
  if (sc.privileged === true) report(`${label}: securityContext.privileged must not be true`);
  const caps = sc.capabilities || {};
  if (!(caps.drop || []).includes('ALL')) report(`${label}: securityContext.capabilities.drop must include ALL`);
  if ((caps.add || []).length) report(`${label}: securityContext.capabilities.add must be empty, is ${JSON.stringify(caps.add)}`);
  const seccomp = (eff('seccompProfile') || {}).type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
    report(`${label}: securityContext.seccompProfile.type must be RuntimeDefault (or Localhost), is ${seccomp}`);
  }

  // Volumes: every mount has a volume; /tmp is an emptyDir.
  const volumes = new Map((pod.volumes || []).map((v) => [v.name, v]));
  for (const m of gw.volumeMounts || []) {
    if (!volumes.has(m.name)) report(`${label}: volumeMount ${m.mountPath} names volume "${m.name}", which the pod does not have`);
  }
  const tmp = (gw.volumeMounts || []).find((m) => m.mountPath.replace(/\/$/, '') === '/tmp');
  if (!tmp || !volumes.get(tmp.name) || !volumes.get(tmp.name).emptyDir) {
    report(`${label}: /tmp must be mounted from an emptyDir (the only writable place with readOnlyRootFilesystem)`);
  }

  // Resources.
  const res = gw.resources || {};
  for (const k of ['cpu', 'memory']) {
    if (!(res.requests || {})[k]) report(`${label}: resources.requests.${k} is missing`);
  }
  if (!(res.limits || {}).memory) report(`${label}: resources.limits.memory is missing`);

  // Addresses of the config.
  const listens = config.listen.map((a) => ({text: a, addr: parseAddress(a)}));
  for (const l of listens) if (!l.addr) report(`${label}: ${cfgWhere}: listen "${l.text}" is not host:port or unix:PATH`);
  const admin = config.admin_listen ? parseAddress(config.admin_listen) : null;
  if (config.admin_listen && !admin) report(`${label}: ${cfgWhere}: admin_listen "${config.admin_listen}" is not host:port`);
  const reachable = (a) => a && !a.unix && !isLoopback(a.host);

  // Container ports = the config's TCP ports.
  const configPorts = new Set(listens.filter((l) => l.addr && !l.addr.unix).map((l) => l.addr.port));
  if (admin && !admin.unix) configPorts.add(admin.port);
  const declared = new Set((gw.ports || []).map((p) => p.containerPort));
  for (const p of declared) {
    if (!configPorts.has(p)) report(`${label}: containerPort ${p} is neither a listen nor the admin_listen port of ${cfgWhere} (${[...configPorts].join(', ')})`);
  }
  if (admin && !admin.unix && !declared.has(admin.port)) {
    report(`${label}: admin_listen port ${admin.port} (${cfgWhere}) is not declared in ports`);
  }

  // Probes: all three, one handler each, on ports and paths the gateway serves.
  const wantPath = {startupProbe: '/healthz', livenessProbe: '/healthz', readinessProbe: '/readyz'};
  for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const probe = gw[kind];
    if (!probe) {
      report(`${label}: ${kind} is missing`);
      continue;
    }
    const handlers = ['httpGet', 'grpc', 'tcpSocket', 'exec'].filter((h) => probe[h]);
    if (handlers.length !== 1) {
      report(`${label}: ${kind} must have exactly one handler, has ${handlers.join(', ') || 'none'}`);
      continue;
    }
    const h = handlers[0];
    if (h === 'exec') {
      const target = parseExecProbe(probe.exec.command);
      if (!target) {
        report(`${label}: ${kind} exec must be the base's bash /dev/tcp GET (deploy/kubernetes/base/sidecar.yaml): the image has no other client`);
      } else {
        if (!admin || admin.unix) {
          report(`${label}: ${kind} GETs 127.0.0.1:${target.port} but ${cfgWhere} has no TCP admin_listen`);
        } else if (target.port !== admin.port) {
          report(`${label}: ${kind} probes 127.0.0.1:${target.port}, but admin_listen is ${config.admin_listen} (${cfgWhere})`);
        } else if (!/^(127\.0\.0\.1|0\.0\.0\.0|::|)$/.test(admin.host)) {
          report(`${label}: ${kind} GETs 127.0.0.1, which admin_listen ${config.admin_listen} does not listen on`);
        }
        if (target.path !== wantPath[kind]) report(`${label}: ${kind} path is ${target.path}, should be ${wantPath[kind]}`);
      }
    } else if (h === 'httpGet') {
      const port = resolvePort(gw, probe.httpGet.port);
      if (!admin || admin.unix) {
        report(`${label}: ${kind} uses httpGet but ${cfgWhere} has no TCP admin_listen`);
      } else {
        if (port !== admin.port) report(`${label}: ${kind} probes port ${probe.httpGet.port} (${port}), but admin_listen is ${config.admin_listen} (${cfgWhere})`);
        if (!reachable(admin)) report(`${label}: ${kind}: admin_listen ${config.admin_listen} is loopback; the kubelet probes the pod IP, so it must listen on 0.0.0.0 (or the pod IP)`);
      }
      if (probe.httpGet.path !== wantPath[kind]) report(`${label}: ${kind} path is ${probe.httpGet.path}, should be ${wantPath[kind]}`);
      if (probe.httpGet.host) report(`${label}: ${kind} sets httpGet.host; leave it to the pod IP`);
      if (probe.httpGet.scheme && probe.httpGet.scheme !== 'HTTP') report(`${label}: ${kind} scheme must be HTTP (the admin port is plain HTTP)`);
    } else {
      const port = resolvePort(gw, (probe[h] || {}).port);
      const match = listens.find((l) => l.addr && !l.addr.unix && l.addr.port === port);
      if (!match && !(h === 'tcpSocket' && admin && admin.port === port)) {
        report(`${label}: ${kind} ${h} probes port ${port}, which no listen address of ${cfgWhere} uses`);
      } else if (match && !reachable(match.addr)) {
        report(`${label}: ${kind} ${h} probes port ${port}, but listen ${match.text} is loopback; the kubelet probes the pod IP`);
      }
      if (kind === 'livenessProbe' && h === 'grpc') {
        report(`${label}: livenessProbe must not use grpc health (NOT_SERVING while not ready would restart a healthy gateway); use GET /healthz`);
      }
    }
  }

  // Who can reach the gateway: an address on the pod IP is open to every pod
  // of the cluster unless a NetworkPolicy says otherwise.
  const exposed = listens.filter((l) => reachable(l.addr)).map((l) => ['listen', l.text, l.addr.port]);
  if (reachable(admin)) exposed.push(['admin_listen', config.admin_listen, admin.port]);
  for (const [what, text, port] of exposed) {
    const finding = clusterExposure(what, text, port, gw, meta, objects);
    if (finding) report(`${label}: ${finding}`);
  }
  const annotations = meta.annotations || {};
  const gwPorts = new Set([...configPorts]);
  if (annotations['prometheus.io/port'] !== undefined && gwPorts.has(Number(annotations['prometheus.io/port']))) {
    report(`${label}: the pod annotation prometheus.io/port=${annotations['prometheus.io/port']} claims the pod's one annotated scrape port for the sidecar; scrape it with a PodMonitor (deploy/kubernetes/examples/prometheus)`);
  }

  // Credentials.
  const env = new Map((gw.env || []).map((e) => [e.name, e]));
  for (const name of ['TENCENTCLOUD_SECRET_ID', 'TENCENTCLOUD_SECRET_KEY', 'TENCENTCLOUD_SESSION_TOKEN']) {
    const e = env.get(name);
    if (e && e.value !== undefined) report(`${label}: env ${name} has a literal value: credentials must come from a Secret`);
  }
  if (config.secret_id || config.secret_key) report(`${label}: ${cfgWhere} holds secret_id/secret_key: credentials must come from a Secret`);
  const sources = config.credential_sources;
  const tkeNames = ['TKE_REGION', 'TKE_PROVIDER_ID', 'TKE_ROLE_ARN', 'TKE_WEB_IDENTITY_TOKEN_FILE'];
  const tkeSet = tkeNames.filter((n) => env.has(n));
  const usesFiles = !!config.secret_dir && (sources.length === 0 || sources.includes('files'));
  if (config.secret_dir) {
    const dir = config.secret_dir.replace(/\/+$/, '');
    const mount = (gw.volumeMounts || []).find((m) => m.mountPath.replace(/\/+$/, '') === dir);
    const vol = mount && volumes.get(mount.name);
    if (!mount) {
      report(`${label}: secret_dir ${config.secret_dir} (${cfgWhere}) is not the mountPath of any volumeMount`);
    } else if (!vol || !(vol.secret || (vol.projected && (vol.projected.sources || []).every((s) => s.secret)))) {
      report(`${label}: secret_dir ${config.secret_dir} is mounted from volume "${mount.name}", which is not a Secret`);
    } else {
      if (mount.subPath || mount.subPathExpr) report(`${label}: the Secret at ${config.secret_dir} is mounted with subPath: Kubernetes never updates it then (no rotation)`);
      if (mount.readOnly !== true) report(`${label}: the Secret mount ${config.secret_dir} should be readOnly`);
    }
  }
  if (tkeSet.length) {
    if (tkeSet.length !== tkeNames.length) {
      report(`${label}: TKE OIDC needs all of ${tkeNames.join(', ')}; set: ${tkeSet.join(', ')}`);
    }
    for (const n of tkeSet) {
      const e = env.get(n);
      if (!e.valueFrom && !e.value) report(`${label}: env ${n} is empty`);
    }
    const tokenFile = (env.get('TKE_WEB_IDENTITY_TOKEN_FILE') || {}).value;
    if (tokenFile) {
      const mount = (gw.volumeMounts || []).find((m) => tokenFile.startsWith(m.mountPath.replace(/\/+$/, '') + '/'));
      const vol = mount && volumes.get(mount.name);
      const rel = mount && path.posix.relative(mount.mountPath, tokenFile);
      const src = vol && vol.projected && (vol.projected.sources || []).find((s) => s.serviceAccountToken && s.serviceAccountToken.path === rel);
      if (!src) {
        report(`${label}: TKE_WEB_IDENTITY_TOKEN_FILE ${tokenFile} is not a serviceAccountToken of a projected volume mounted in the sidecar`);
      } else if (!src.serviceAccountToken.audience) {
        report(`${label}: the projected token for TKE OIDC has no audience (it must be the OIDC provider's client ID)`);
      }
    }
    if (usesFiles && (sources.length === 0 || sources.indexOf('files') < sources.indexOf('tke-oidc') || !sources.includes('tke-oidc'))) {
      report(`${label}: both secret_dir and TKE_* are set, and the files source comes first: the TKE identity would never be used (set credential_sources or drop secret_dir)`);
    }
  }
  const hasEnvPair = env.has('TENCENTCLOUD_SECRET_ID') && env.has('TENCENTCLOUD_SECRET_KEY');
  const metadata = config.use_metadata === true || config.use_metadata === 'true' || sources.includes('cvm-role');
  if (!config.secret_dir && !tkeSet.length && !hasEnvPair && !metadata && !sources.includes('none') &&
      !config.credentials_file) {
    report(`${label}: no credential source is configured (secret_dir, TKE_* env, TENCENTCLOUD_* from a Secret, use_metadata)`);
  }

  // Termination: the pod's grace period must cover the gateway's drain.
  const grace = parseDurationSeconds(config.shutdown_grace);
  const tgps = pod.terminationGracePeriodSeconds === undefined ? 30 : pod.terminationGracePeriodSeconds;
  if (Number.isNaN(grace)) {
    report(`${label}: shutdown_grace "${config.shutdown_grace}" (${cfgWhere}) is not a duration`);
  } else if (!(tgps > grace)) {
    report(`${label}: ${podWhere}.terminationGracePeriodSeconds (${tgps}) must be above shutdown_grace (${config.shutdown_grace}) of ${cfgWhere}`);
  }

  // App containers that name the gateway's address must name a listen port,
  // or a listen socket on a volume they share with the sidecar.
  const loopbackPorts = new Set(listens.filter((l) => l.addr && !l.addr.unix).map((l) => l.addr.port));
  const socketPath = (text) => String(text).replace(/^unix:(\/\/)?/, '');
  for (const c of [...(pod.containers || []), ...(pod.initContainers || [])]) {
    if (c === gw) continue;
    for (const e of c.env || []) {
      if (e.name !== 'ENVELOPE_GATEWAY_ADDRESS' || e.value === undefined) continue;
      const a = parseAddress(e.value);
      if (a && a.unix) {
        checkSocketClient(c, socketPath(e.value));
      } else if (!a || !isLoopback(a.host) || !loopbackPorts.has(a.port)) {
        report(`${label}: container "${c.name}" env ENVELOPE_GATEWAY_ADDRESS=${e.value} does not point at the sidecar on loopback (listen: ${config.listen.join(', ')})`);
      }
    }
  }

  // A unix socket reaches only the containers that mount its directory: the
  // same emptyDir in both, and an app that may connect (the gateway creates
  // the socket 0755 as its own UID).
  function checkSocketClient(c, sock) {
    const where = `container "${c.name}" env ENVELOPE_GATEWAY_ADDRESS=unix://${sock}`;
    if (!listens.some((l) => l.addr && l.addr.unix && socketPath(l.text) === sock)) {
      report(`${label}: ${where} is no unix listen address of ${cfgWhere} (listen: ${config.listen.join(', ')})`);
      return;
    }
    const dir = path.posix.dirname(sock);
    const mountOf = (x) => (x.volumeMounts || []).find((m) => m.mountPath.replace(/\/+$/, '') === dir);
    const gwMount = mountOf(gw);
    const appMount = mountOf(c);
    if (!gwMount || !appMount || gwMount.name !== appMount.name) {
      report(`${label}: ${where}: the app does not mount the socket's directory ${dir} from the same volume as the sidecar`);
    } else if (!(volumes.get(gwMount.name) || {}).emptyDir) {
      report(`${label}: the socket directory ${dir} is volume "${gwMount.name}", which is not an emptyDir`);
    } else if (gwMount.readOnly) {
      report(`${label}: the sidecar mounts the socket directory ${dir} readOnly: it cannot create the socket`);
    }
    const csc = c.securityContext || {};
    const uid = csc.runAsUser !== undefined ? csc.runAsUser : psc.runAsUser;
    if (uid !== GATEWAY_UID && uid !== 0) {
      report(`${label}: ${where} runs as UID ${uid}: the gateway creates the socket 0755 as UID ${GATEWAY_UID}, so only that UID can connect`);
    }
  }
  return {config, admin, ports: gw.ports || []};
}

// A PodMonitor must select pods with the sidecar and scrape its admin port
// where Prometheus can reach it.
function checkPodMonitor(pm, gateways, label, report) {
  const selected = gateways.filter((g) => labelsMatch((pm.spec || {}).selector, g.meta.labels));
  if (!selected.length) {
    report(`${label}: its selector matches no pod with the envelope-gateway sidecar`);
    return;
  }
  for (const ep of (pm.spec || {}).podMetricsEndpoints || []) {
    for (const g of selected) {
      const port = g.ports.find((p) => p.name === ep.port);
      if (!port) continue;  // another container's port
      if (!g.admin || port.containerPort !== g.admin.port) {
        report(`${label}: port ${ep.port} is not the sidecar's admin port`);
      } else if (g.admin.unix || isLoopback(g.admin.host)) {
        report(`${label}: scrapes ${ep.port}, but admin_listen is loopback: Prometheus cannot reach it (bind it on the pod IP behind a NetworkPolicy)`);
      }
      if ((ep.path || '/metrics') !== '/metrics') report(`${label}: path ${ep.path} is not /metrics`);
    }
  }
}

// ---------------------------------------------------------------- driver

function loadObjects(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const objects = [];
  const problems = [];
  docs.forEach((doc, i) => {
    for (const err of doc.errors) problems.push(`${file}: document ${i + 1}: ${err.message}`);
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) objects.push(obj);
  });
  return {objects, problems};
}

function validateObjects(objects, fileLabel, options = {}) {
  const problems = [];
  let gateways = 0;
  const found = [];
  for (const obj of objects) {
    const name = obj && obj.metadata && obj.metadata.name;
    const label = `${fileLabel}: ${obj && obj.kind}/${name}`;
    const report = (msg) => problems.push(msg);
    if (!obj || typeof obj !== 'object' || !obj.apiVersion || !obj.kind || !name) {
      report(`${label}: apiVersion, kind and metadata.name are required`);
      continue;
    }
    validateSchema(obj, label, report);
    for (const {spec, meta, where} of podTemplates(obj)) {
      for (const list of ['containers', 'initContainers']) {
        for (const c of spec[list] || []) {
          if (!isGatewayContainer(c)) continue;
          gateways++;
          const g = checkGateway(c, spec, meta, where, objects, `${label} ${where}.${list}[${c.name}]`, report);
          if (g) found.push(Object.assign(g, {meta}));
        }
      }
    }
  }
  for (const pm of objects.filter((o) => o && o.kind === 'PodMonitor')) {
    checkPodMonitor(pm, found, `${fileLabel}: PodMonitor/${pm.metadata && pm.metadata.name}`, (m) => problems.push(m));
  }
  if (options.expectGateway && gateways === 0) {
    problems.push(`${fileLabel}: no envelope-gateway sidecar in any workload`);
  }
  return problems;
}

function printObject(obj) {
  return YAML.stringify(obj).split('\n').map((l) => '    ' + l).join('\n');
}

// Each mutation breaks the manifests the way a careless edit would; the
// validator must name it.
const MUTATIONS = [
  ['readOnlyRootFilesystem off', 'readOnlyRootFilesystem', (gw) => { gw.securityContext.readOnlyRootFilesystem = false; }],
  ['runs as root', 'runAsUser', (gw) => { gw.securityContext.runAsUser = 0; }],
  ['field typo', 'unknown field (did you mean "readinessProbe"', (gw) => { gw.readinesProbe = gw.readinessProbe; delete gw.readinessProbe; }],
  ['port as string', 'must be integer', (gw) => { gw.ports[0].containerPort = String(gw.ports[0].containerPort); }],
  ['bad enum', 'must be equal to one of the allowed values', (gw) => { gw.imagePullPolicy = 'Sometimes'; }],
  ['probe on wrong port', 'but admin_listen is', (gw) => { setProbe(gw.readinessProbe, 8081, '/readyz'); }],
  ['two probe handlers', 'exactly one handler', (gw) => { gw.livenessProbe.tcpSocket = {port: 9901}; }],
  ['no startup probe', 'startupProbe is missing', (gw) => { delete gw.startupProbe; }],
  ['liveness on /readyz', 'should be /healthz', (gw) => { setProbe(gw.livenessProbe, 9901, '/readyz'); }],
  ['exec probe of another client', "exec must be the base's", (gw) => { gw.livenessProbe.exec.command = ['/usr/bin/curl', '-f', 'http://127.0.0.1:9901/healthz']; }],
  ['plain container', 'not a native sidecar', (gw) => { delete gw.restartPolicy; }],
  ['image not set', 'has no tag or digest', (gw) => { gw.image = 'envelope-gateway'; }],
  ['no /tmp', '/tmp must be mounted', (gw) => { gw.volumeMounts = gw.volumeMounts.filter((m) => m.mountPath !== '/tmp'); }],
  ['no memory limit', 'limits.memory', (gw) => { delete gw.resources.limits; }],
  ['literal secret in env', 'literal value', (gw) => { (gw.env = gw.env || []).push({name: 'TENCENTCLOUD_SECRET_KEY', value: 'x'}); }],
  ['grace too short', 'terminationGracePeriodSeconds', (gw, pod) => { pod.terminationGracePeriodSeconds = 20; }],
  ['httpGet probe on a loopback admin', 'is loopback', (gw, pod, cm) => {
    setConfig(cm, 'admin_listen', '127.0.0.1:9901');
    gw.livenessProbe = {httpGet: {path: '/healthz', port: 'gw-admin'}};
  }],
  ['admin open to the cluster', 'open to the whole cluster', (gw, pod, cm) => { setConfig(cm, 'admin_listen', '0.0.0.0:9901'); }],
  ['NetworkPolicy admitting the admin port from everywhere', 'from everywhere', (gw, pod, cm, meta, objects) => {
    setConfig(cm, 'admin_listen', '0.0.0.0:9901');
    objects.push({apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: {name: 'open'},
      spec: {podSelector: {matchLabels: meta.labels || {}}, policyTypes: ['Ingress'], ingress: [{ports: [{port: 9901}]}]}});
  }],
  ['prometheus.io/port on the admin port', 'prometheus.io/port=9901', (gw, pod, cm, meta) => {
    meta.annotations = Object.assign({}, meta.annotations, {'prometheus.io/scrape': 'true', 'prometheus.io/port': '9901'});
  }],
  ['PodMonitor on a loopback admin', 'Prometheus cannot reach it', (gw, pod, cm, meta, objects) => {
    setConfig(cm, 'admin_listen', '127.0.0.1:9901');
    objects.push({apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: {name: 'pm'},
      spec: {selector: {matchLabels: meta.labels || {}}, podMetricsEndpoints: [{port: 'gw-admin'}]}});
  }],
  ['unix socket not shared with the app', 'does not mount the socket', (gw, pod, cm) => {
    useSocket(gw, pod, cm);
    const app = pod.containers[0];
    app.volumeMounts = (app.volumeMounts || []).filter((m) => m.mountPath !== '/var/run/envelope-gateway');
  }],
  ['unix socket and an app under another UID', 'only that UID can connect', (gw, pod, cm) => {
    useSocket(gw, pod, cm);
    pod.containers[0].securityContext = Object.assign({}, pod.containers[0].securityContext, {runAsUser: 10001});
  }],
  ['TKE token not mounted', 'TKE_WEB_IDENTITY_TOKEN_FILE /elsewhere/token', (gw) => {
    gw.env = (gw.env || []).filter((e) => !e.name.startsWith('TKE_')).concat([
      {name: 'TKE_REGION', value: 'ap-guangzhou'}, {name: 'TKE_PROVIDER_ID', value: 'p'},
      {name: 'TKE_ROLE_ARN', value: 'qcs::cam::uin/1:roleName/r'},
      {name: 'TKE_WEB_IDENTITY_TOKEN_FILE', value: '/elsewhere/token'}]);
  }],
  ['TKE half set', 'TKE OIDC needs all of', (gw) => {
    gw.env = (gw.env || []).filter((e) => !e.name.startsWith('TKE_')).concat([{name: 'TKE_REGION', value: 'ap-guangzhou'}]);
  }],
  ['secret_dir elsewhere', 'secret_dir', (gw, pod, cm) => {
    const key = Object.keys(cm.data)[0];
    if (/^secret_dir:/m.test(cm.data[key])) {
      cm.data[key] = cm.data[key].replace(/^secret_dir:.*$/m, 'secret_dir: /elsewhere');
    } else {
      cm.data[key] += '\nsecret_dir: /elsewhere\n';
    }
  }],
];

// Mutation helpers: one probe's target, one config key, a unix socket.
function setProbe(probe, port, path) {
  for (const k of ['httpGet', 'grpc', 'tcpSocket', 'exec']) delete probe[k];
  probe.exec = {command: ['/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && ` +
                          'read -r _ code _ <&3 && [ "${code%$\'\\r\'}" = 200 ]']};
}

function setConfig(cm, key, value) {
  const file = Object.keys(cm.data)[0];
  const line = `${key}: ${value}`;
  const re = new RegExp(`^${key}:.*(\\n[ \\t]+.*)*$`, 'm');  // with an indented list
  cm.data[file] = re.test(cm.data[file]) ? cm.data[file].replace(re, line) : `${cm.data[file]}\n${line}\n`;
}

function useSocket(gw, pod, cm) {
  setConfig(cm, 'listen', '["unix:/var/run/envelope-gateway/grpc.sock"]');
  gw.ports = gw.ports.filter((p) => p.containerPort !== 50051);
  const mount = {name: 'envelope-gateway-socket', mountPath: '/var/run/envelope-gateway'};
  if (!pod.volumes.some((v) => v.name === mount.name)) pod.volumes.push({name: mount.name, emptyDir: {}});
  if (!gw.volumeMounts.some((m) => m.name === mount.name)) gw.volumeMounts.push(Object.assign({}, mount));
  const app = pod.containers[0];
  app.env = (app.env || []).filter((e) => e.name !== 'ENVELOPE_GATEWAY_ADDRESS')
      .concat([{name: 'ENVELOPE_GATEWAY_ADDRESS', value: 'unix:///var/run/envelope-gateway/grpc.sock'}]);
  if (!(app.volumeMounts || []).some((m) => m.name === mount.name)) app.volumeMounts = (app.volumeMounts || []).concat([Object.assign({}, mount)]);
}

function selfTest(file) {
  const {objects, problems} = loadObjects(file);
  const clean = problems.concat(validateObjects(objects, file, {expectGateway: true}));
  if (clean.length) {
    console.error(`self-test: ${file} must be clean to start with:\n  ${clean.join('\n  ')}`);
    return 1;
  }
  let failed = 0;
  for (const [what, expect, mutate] of MUTATIONS) {
    const copy = JSON.parse(JSON.stringify(objects));
    let gw = null;
    let pod = null;
    let meta = null;
    for (const obj of copy) {
      for (const t of podTemplates(obj)) {
        const c = [...(t.spec.initContainers || []), ...(t.spec.containers || [])].find(isGatewayContainer);
        if (c && !gw) {
          gw = c;
          pod = t.spec;
          // The template's own metadata object, so that a mutation reaches it.
          meta = t.meta === obj.metadata ? obj.metadata :
              ((obj.spec.template || obj.spec.jobTemplate.spec.template).metadata = t.meta);
        }
      }
    }
    const cm = copy.find((o) => o.kind === 'ConfigMap');
    mutate(gw, pod, cm, meta, copy);
    const found = validateObjects(copy, file, {expectGateway: true});
    const hit = found.find((p) => p.includes(expect));
    if (hit) {
      console.log(`  caught: ${what}: ${hit.replace(/^.*?: /, '')}`);
    } else {
      failed++;
      console.error(`  MISSED: ${what}: expected a finding containing "${expect}", got:\n    ${found.join('\n    ') || '(nothing)'}`);
    }
  }
  console.log(`self-test: ${MUTATIONS.length - failed} of ${MUTATIONS.length} broken variants caught`);
  return failed ? 1 : 0;
}

function main(argv) {
  if (argv[0] === '--self-test') return selfTest(argv[1]);
  if (!argv.length) {
    console.error('usage: validate_manifests.js FILE.yaml... | --self-test FILE.yaml');
    return 2;
  }
  let failed = 0;
  for (const file of argv) {
    const {objects, problems} = loadObjects(file);
    const all = problems.concat(validateObjects(objects, file, {expectGateway: true}));
    const kinds = objects.map((o) => `${o.kind}/${o.metadata && o.metadata.name}`).join(', ');
    if (all.length) {
      failed++;
      console.error(`FAIL ${file} (${kinds}):`);
      for (const p of all) console.error(`  - ${p}`);
      // Show the objects a finding names, so the failure can be read alone.
      for (const obj of objects) {
        const id = `${obj.kind}/${obj.metadata && obj.metadata.name}`;
        if (all.some((p) => p.includes(`: ${id}`))) console.error(`  ${id} as rendered:\n${printObject(obj)}`);
      }
    } else {
      console.log(`ok   ${file}: ${objects.length} objects valid (${kinds})`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
