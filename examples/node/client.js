#!/usr/bin/env node
// A Node client of envelope-gateway: stubs loaded from proto/ with
// @grpc/proto-loader, one success, and failures told apart by
// google.rpc.ErrorInfo.reason (decoded with protobufjs).
//
//   cd examples/node && npm ci
//   ENVELOPE_GATEWAY_ADDRESS=127.0.0.1:50051 node client.js
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const PROTO_DIR = path.join(__dirname, '..', '..', 'proto');
// google/rpc/*.proto, e.g. from Debian's golang-github-gogo-googleapis-dev
// (or a checkout of github.com/googleapis/googleapis).
const GOOGLEAPIS = process.env.GOOGLEAPIS_DIR || '/usr/share/gocode/src/github.com/gogo/googleapis';

// longs: String keeps 64-bit integers exact.
const stubs = grpc.loadPackageDefinition(protoLoader.loadSync(
    ['tencentcloud/cvm/v20170312/cvm.proto', 'envelope/gateway/v1/json_api.proto'],
    {includeDirs: [PROTO_DIR], longs: String, defaults: true}));

const rpc = new protobuf.Root();
rpc.resolvePath = (origin, target) => path.join(GOOGLEAPIS, target);
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], {keepCase: true});
const Status = rpc.lookupType('google.rpc.Status');
const ErrorInfo = rpc.lookupType('google.rpc.ErrorInfo');

// One unary call; resolves with {error, response, trailers}.
function unary(client, method, request) {
  return new Promise((resolve) => {
    const result = {};
    let pending = 2;  // the answer, and the status with the trailers
    const done = () => { if (--pending === 0) resolve(result); };
    const call = client[method](request, {deadline: Date.now() + 10000}, (error, response) => {
      Object.assign(result, {error, response});
      done();
    });
    call.on('status', (status) => {
      result.trailers = status.metadata;
      done();
    });
  });
}

// Prints a failed call's code and acts on its ErrorInfo.reason, read from
// grpc-status-details-bin.
function explain(call, error) {
  const codeName = Object.keys(grpc.status).find((k) => grpc.status[k] === error.code);
  const [bin] = error.metadata.get('grpc-status-details-bin');
  const details = bin ? Status.decode(bin).details : [];
  const any = details.find((d) => d.type_url === 'type.googleapis.com/google.rpc.ErrorInfo');
  if (!any) {
    console.log(`${call} failed: code ${error.code} (${codeName}), no ErrorInfo: ${error.details}`);
    return;
  }
  const info = ErrorInfo.decode(any.value);
  console.log(`${call} failed: code ${error.code} (${codeName}), reason ${info.reason}`);
  switch (info.reason) {
    case 'RESOURCE_NOT_FOUND_INSTANCE_NOT_EXIST':
      console.log(`  -> no such instance; the API's code is ${info.metadata.code}`);
      break;
    case 'INVALID_ACTION':
      console.log(`  -> ${info.metadata.service} has no action ${info.metadata.action}`);
      break;
    default:
      console.log(`  -> not handled here (domain ${info.domain}): ${error.details}`);
  }
}

// The upstream RequestId, on success and failure alike.
function printRequestId(trailers) {
  const [id] = trailers ? trailers.get('x-tc-requestid') : [];
  console.log(id ? `  request id ${id}` : '  no request id');
}

async function main() {
  const address = process.env.ENVELOPE_GATEWAY_ADDRESS || '127.0.0.1:50051';
  const credentials = grpc.credentials.createInsecure();
  const cvm = new stubs.tencentcloud.cvm.v20170312.Cvm(address, credentials);
  const jsonApi = new stubs.envelope.gateway.v1.JsonApi(address, credentials);

  // 1. A typed call: the answer is a DescribeZonesResponse.
  let r = await unary(cvm, 'DescribeZones', {});
  if (r.error) {
    explain('DescribeZones', r.error);
  } else {
    console.log(`DescribeZones: total_count ${r.response.totalCount}`);
    for (const z of r.response.zoneSet) {
      console.log(`  zone ${z.zone} id ${z.zoneId} state ${z.zoneState} name ${z.zoneName}`);
    }
  }
  printRequestId(r.trailers);

  // 2. An instance that may not exist.
  r = await unary(cvm, 'DescribeInstances', {instanceIds: ['ins-demo0001']});
  if (r.error) {
    explain('DescribeInstances', r.error);
  } else {
    console.log(`DescribeInstances: total_count ${r.response.totalCount}`);
  }
  printRequestId(r.trailers);

  // 3. An action the API does not have, through the untyped JsonApi.
  r = await unary(jsonApi, 'Call', {
    service: 'cvm', version: '2017-03-12', action: 'DescribeNoSuchThing', paramsJson: '{}'});
  if (r.error) {
    explain('DescribeNoSuchThing', r.error);
  } else {
    console.log(`DescribeNoSuchThing: ${r.response.responseJson}`);
  }
  printRequestId(r.trailers);

  cvm.close();
  jsonApi.close();
}

main();
