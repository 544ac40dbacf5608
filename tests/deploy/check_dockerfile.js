#!/usr/bin/env node
// Checks deploy/Dockerfile without a Docker engine:
// - lint: dockerfile-utils (the Docker language server's validator) reports
//   no problem (unknown instructions or flags, bad arguments, ...);
// - the promises of docs/operations.md: a debian:12 build stage building the
//   envelope-gateway target with the packages of tools/setup.sh (through
//   deploy/build-packages.sh); a debian:12-slim runtime stage installing
//   deploy/runtime-packages.txt through deploy/runtime-setup.sh (the file and
//   steps the rootfs test uses); numeric non-root USER 65532; ENTRYPOINT and
//   CMD in exec form (no shell at run time), no HEALTHCHECK command; the
//   bundled config at the path CMD names; OCI labels; ARG VERSION = the
//   gateway's version (gateway/version/version.h); every COPY source exists and is not excluded by
//   deploy/Dockerfile.dockerignore.
//
//   node check_dockerfile.js REPO_ROOT
'use strict';

const fs = require('fs');
const path = require('path');
const {validate} = require('dockerfile-utils');
const {DockerfileParser} = require('dockerfile-ast');

const root = process.argv[2];
const dockerfilePath = path.join(root, 'deploy/Dockerfile');
const text = fs.readFileSync(dockerfilePath, 'utf8');
const problems = [];
const ok = [];
const check = (cond, what) => (cond ? ok : problems).push(what);

// ------------------------------------------------------------------ lint
for (const d of validate(text)) {
  problems.push(`lint: line ${d.range.start.line + 1}: ${d.message}`);
}

// ------------------------------------------------------------------ stages
const dockerfile = DockerfileParser.parse(text);
const stages = [];
for (const ins of dockerfile.getInstructions()) {
  if (ins.getKeyword() === 'FROM') {
    stages.push({image: ins.getImageName() + (ins.getImageTag() ? ':' + ins.getImageTag() : ''),
                 name: ins.getBuildStage(), instructions: []});
  } else if (stages.length) {
    stages[stages.length - 1].instructions.push(ins);
  }
}
const argsOf = (ins) => ins.getArguments().map((a) => a.getValue());
const lineOf = (ins) => ins.getRange().start.line + 1;
const find = (stage, keyword) => (stage ? stage.instructions.filter((i) => i.getKeyword() === keyword) : []);
const runText = (stage) => find(stage, 'RUN').map((i) => argsOf(i).join(' ')).join('\n');

check(stages.length === 2, `two stages (found ${stages.length}: ${stages.map((s) => `${s.image} AS ${s.name}`).join(', ')})`);
const build = stages.find((s) => s.name === 'build');
const runtime = stages[stages.length - 1];
check(build && build.image === 'debian:12', `build stage FROM debian:12 AS build (is ${build && build.image})`);
check(runtime && runtime.image === 'debian:12-slim' && runtime.name === 'runtime',
      `last stage FROM debian:12-slim AS runtime (is ${runtime && `${runtime.image} AS ${runtime.name}`})`);

// Build stage: setup.sh's packages, the gateway target only.
const buildRuns = runText(build);
check(/packages="\$\(deploy\/build-packages\.sh tools\/setup\.sh\)"[\s\S]*apt-get install[^\n]*\$packages/.test(buildRuns),
      'build stage installs the packages printed by deploy/build-packages.sh tools/setup.sh');
check(/--no-install-recommends/.test(buildRuns), 'build stage apt-get uses --no-install-recommends');
check(/cmake --build \S+ --target envelope-gateway\b/.test(buildRuns), 'build stage builds --target envelope-gateway only');

// Runtime stage: the one package list, through the shared setup script.
const runtimeCopies = find(runtime, 'COPY');
const copiesList = runtimeCopies.some((c) => argsOf(c).includes('deploy/runtime-packages.txt') &&
                                             argsOf(c).includes('deploy/runtime-setup.sh'));
check(copiesList, 'runtime stage COPYs deploy/runtime-packages.txt and deploy/runtime-setup.sh');
check(/runtime-setup\.sh \S*runtime-packages\.txt/.test(runText(runtime)),
      'runtime stage runs runtime-setup.sh on runtime-packages.txt');
check(!/apt-get install/.test(runText(runtime)),
      'runtime stage installs packages only through runtime-setup.sh (one list, one place)');
const binaryCopy = runtimeCopies.find((c) => c.getFromFlag && c.getFromFlag() &&
                                             c.getFromFlag().getValue() === 'build');
check(binaryCopy && argsOf(binaryCopy).pop() === '/usr/local/bin/envelope-gateway',
      'runtime stage copies the binary from the build stage to /usr/local/bin/envelope-gateway');

// User, entrypoint, no shell.
const users = find(runtime, 'USER');
const user = users.length ? argsOf(users[users.length - 1]).join(' ') : '';
check(/^65532(:65532)?$/.test(user), `USER is numeric 65532 (is "${user}")`);
const jsonArgs = (ins) => {
  const strings = ins.getJSONStrings ? ins.getJSONStrings() : [];
  return strings.length ? strings.map((s) => s.getJSONValue()) : null;
};
const entrypoints = find(runtime, 'ENTRYPOINT');
const entry = entrypoints.length ? jsonArgs(entrypoints[entrypoints.length - 1]) : null;
check(entry && entry[0] === '/usr/local/bin/envelope-gateway',
      `ENTRYPOINT in exec form ["/usr/local/bin/envelope-gateway"] (is ${entrypoints.length ? argsOf(entrypoints[entrypoints.length - 1]).join(' ') : 'missing'})`);
const cmds = find(runtime, 'CMD');
const cmd = cmds.length ? jsonArgs(cmds[cmds.length - 1]) : [];
check(cmds.length === 0 || cmd !== null, 'CMD in exec form');
for (const hc of find(runtime, 'HEALTHCHECK')) {
  check(/^NONE$/i.test(argsOf(hc)[0] || ''), `line ${lineOf(hc)}: no HEALTHCHECK command (the image has no client; Kubernetes probes the admin port)`);
}
check(!find(runtime, 'SHELL').length, 'no SHELL instruction in the runtime stage');

// The bundled config is where CMD points.
const configArg = (cmd || []).find((a) => a.startsWith('--config='));
const configCopy = runtimeCopies.find((c) => argsOf(c)[0] === 'deploy/gateway.yaml');
check(configCopy && configArg && argsOf(configCopy).pop() === configArg.slice('--config='.length),
      `deploy/gateway.yaml is copied to the path CMD's --config names (${configArg})`);

// Labels.
const labels = {};
for (const l of find(runtime, 'LABEL')) for (const p of l.getProperties()) labels[p.getName()] = p.getValue();
for (const k of ['title', 'description', 'version', 'revision', 'source', 'base.name']) {
  check(labels[`org.opencontainers.image.${k}`], `LABEL org.opencontainers.image.${k}`);
}
// The version is written once, in gateway/version/version.h (CMake's
// project(VERSION) reads it from there).
const versionHeader = fs.readFileSync(
    path.join(root, 'gateway', 'version', 'version.h'), 'utf8');
const projectVersion = (versionHeader.match(/kVersion\[\] = "([0-9.]+)"/) || [])[1];
const versionArg = find(runtime, 'ARG').map(argsOf).flat().find((a) => a.startsWith('VERSION='));
check(versionArg === `VERSION=${projectVersion}`,
      `ARG ${versionArg} matches gateway/version/version.h's kVersion ${projectVersion}`);

// COPY sources exist and survive the .dockerignore.
const ignore = fs.readFileSync(path.join(root, 'deploy/Dockerfile.dockerignore'), 'utf8')
    .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const ignored = (p) => ignore.some((pat) => {
  const re = new RegExp('^' + pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(.*/)?')
      .replace(/\*/g, '[^/]*') + '(/.*)?$');
  return re.test(p);
});
for (const stage of stages) {
  for (const c of find(stage, 'COPY')) {
    if (c.getFromFlag && c.getFromFlag()) continue;
    for (const src of argsOf(c).slice(0, -1)) {
      if (src === '.') continue;
      check(fs.existsSync(path.join(root, src)), `line ${lineOf(c)}: COPY source ${src} exists`);
      check(!ignored(src), `line ${lineOf(c)}: COPY source ${src} is not excluded by Dockerfile.dockerignore`);
    }
  }
}
check(ignored('build') && ignored('.git'), 'Dockerfile.dockerignore keeps build/ and .git out of the context');

for (const o of ok) console.log(`ok   ${o}`);
for (const p of problems) console.error(`FAIL ${p}`);
process.exitCode = problems.length ? 1 : 0;
