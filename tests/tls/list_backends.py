"""Calls maglev.Maglev/ListBackends with Python's grpcio, the way a tool of
an operator's own would, and prints the outcome on one line.

    list_backends.py ADDR CA|- CERT|- KEY|-

With CA "-" the channel is plaintext; CERT and KEY "-" send no client
certificate. The request is empty and the reply is checked for a backend
name in its raw bytes, so no generated code is needed.
"""
import sys

import grpc


def read(path):
    return None if path == "-" else open(path, "rb").read()


def main():
    addr, ca, cert, key = sys.argv[1:5]
    if ca == "-":
        channel = grpc.insecure_channel(addr)
    else:
        creds = grpc.ssl_channel_credentials(
            root_certificates=read(ca), private_key=read(key), certificate_chain=read(cert)
        )
        channel = grpc.secure_channel(addr, creds)
    call = channel.unary_unary("/maglev.Maglev/ListBackends")
    try:
        reply = call(b"", timeout=10)
    except grpc.RpcError as e:
        print(f"error {e.code().name} {e.details()}")
        return 1
    print("ok" + (" alpha" if b"alpha" in reply else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
