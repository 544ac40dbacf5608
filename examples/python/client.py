#!/usr/bin/python3
"""A Python client of envelope-gateway: typed stubs generated from proto/, one
success, and failures told apart by google.rpc.ErrorInfo.reason.

    examples/python/build.sh /tmp/example-py      # the generated modules
    PYTHONPATH=/tmp/example-py ENVELOPE_GATEWAY_ADDRESS=127.0.0.1:50051 \\
        /usr/bin/python3 examples/python/client.py

Debian 12's python3-grpcio and python3-protobuf; no pip (grpc_status is not
in Debian: grpc-status-details-bin is decoded with google.rpc's Status).
"""

import os

import grpc
from envelope.gateway.v1 import json_api_pb2, json_api_pb2_grpc
from google.rpc import error_details_pb2, status_pb2
from tencentcloud.cvm.v20170312 import cvm_pb2, cvm_pb2_grpc


def explain(call, error):
    """Prints a failed call's code and acts on its ErrorInfo.reason."""
    code = error.code()
    trailers = dict(error.trailing_metadata() or ())
    status = status_pb2.Status.FromString(trailers.get("grpc-status-details-bin", b""))
    info = None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
    if info is None:
        print("%s failed: code %d (%s), no ErrorInfo: %s"
              % (call, code.value[0], code.name, error.details()))
        return
    print("%s failed: code %d (%s), reason %s" % (call, code.value[0], code.name, info.reason))
    if info.reason == "RESOURCE_NOT_FOUND_INSTANCE_NOT_EXIST":
        print("  -> no such instance; the API's code is %s" % info.metadata["code"])
    elif info.reason == "INVALID_ACTION":
        print("  -> %s has no action %s" % (info.metadata["service"], info.metadata["action"]))
    else:
        print("  -> not handled here (domain %s): %s" % (info.domain, error.details()))


def print_request_id(trailers):
    """The upstream RequestId, on success and failure alike."""
    request_id = dict(trailers or ()).get("x-tc-requestid")
    print("  request id %s" % request_id if request_id else "  no request id")


def main():
    address = os.environ.get("ENVELOPE_GATEWAY_ADDRESS", "127.0.0.1:50051")
    with grpc.insecure_channel(address) as channel:
        cvm = cvm_pb2_grpc.CvmStub(channel)

        # 1. A typed call: the answer is a DescribeZonesResponse.
        try:
            zones, call = cvm.DescribeZones.with_call(cvm_pb2.DescribeZonesRequest(), timeout=10)
            print("DescribeZones: total_count %d" % zones.total_count)
            for z in zones.zone_set:
                print("  zone %s id %s state %s name %s" % (z.zone, z.zone_id, z.zone_state, z.zone_name))
            print_request_id(call.trailing_metadata())
        except grpc.RpcError as e:
            explain("DescribeZones", e)
            print_request_id(e.trailing_metadata())

        # 2. An instance that may not exist.
        try:
            instances, call = cvm.DescribeInstances.with_call(
                cvm_pb2.DescribeInstancesRequest(instance_ids=["ins-demo0001"]), timeout=10)
            print("DescribeInstances: total_count %d" % instances.total_count)
            print_request_id(call.trailing_metadata())
        except grpc.RpcError as e:
            explain("DescribeInstances", e)
            print_request_id(e.trailing_metadata())

        # 3. An action the API does not have, through the untyped JsonApi.
        try:
            answer, call = json_api_pb2_grpc.JsonApiStub(channel).Call.with_call(
                json_api_pb2.CallRequest(service="cvm", version="2017-03-12",
                                         action="DescribeNoSuchThing", params_json="{}"),
                timeout=10)
            print("DescribeNoSuchThing: %s" % answer.response_json)
            print_request_id(call.trailing_metadata())
        except grpc.RpcError as e:
            explain("DescribeNoSuchThing", e)
            print_request_id(e.trailing_metadata())


if __name__ == "__main__":
    main()
