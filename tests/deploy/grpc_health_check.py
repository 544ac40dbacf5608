"""grpc.health.v1.Health/Check against ADDRESS, without generated stubs.

  /usr/bin/python3 grpc_health_check.py HOST:PORT [SERVICE]

Prints the status and exits 0 for SERVING, 3 for NOT_SERVING (or UNKNOWN),
4 when the server does not implement the health service, 1 otherwise.
The messages are tiny, so they are written and read by hand:
HealthCheckRequest{string service = 1}, HealthCheckResponse{enum status = 1}.
"""
import sys

import grpc

STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def encode_request(service):
    data = service.encode()
    if not data:
        return b""
    assert len(data) < 128
    return b"\x0a" + bytes([len(data)]) + data


def decode_status(body):
    # field 1, varint: 0x08 <value>; absent means UNKNOWN (0).
    i = 0
    while i < len(body):
        key = body[i]
        i += 1
        if key == 0x08:
            value, shift = 0, 0
            while True:
                b = body[i]
                i += 1
                value |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    return value
        return None  # unexpected field: not a HealthCheckResponse
    return 0


def main():
    address = sys.argv[1]
    service = sys.argv[2] if len(sys.argv) > 2 else ""
    with grpc.insecure_channel(address) as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda x: x,
            response_deserializer=lambda x: x)
        try:
            body = check(encode_request(service), timeout=5)
        except grpc.RpcError as e:
            print(f"health check: {e.code().name}: {e.details()}")
            return 4 if e.code() == grpc.StatusCode.UNIMPLEMENTED else 1
    status = decode_status(body)
    print(f"health check: {STATUS.get(status, status)}")
    return 0 if status == 1 else 3 if status in (0, 2) else 1


if __name__ == "__main__":
    sys.exit(main())
