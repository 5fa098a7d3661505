"""A gRPC client that is not ours: it knows no .proto file, discovers
maglevd's services through server reflection and calls them with messages
built from the fetched descriptors. Prints one `key value` line per check.

usage: reflection_client.py <target>
"""
import sys

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def message_class(descriptor):
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


def main(target):
    channel = grpc.insecure_channel(target)
    # v1alpha reflection, through the stock descriptor database.
    db = ProtoReflectionDescriptorDatabase(channel)
    print("services", ",".join(sorted(db.get_services())))
    pool = DescriptorPool(db)

    def unary(service_name, method, fields):
        md = pool.FindServiceByName(service_name).FindMethodByName(method)
        req_cls, resp_cls = message_class(md.input_type), message_class(md.output_type)
        call = channel.unary_unary(
            f"/{service_name}/{method}",
            request_serializer=req_cls.SerializeToString,
            response_deserializer=resp_cls.FromString,
        )
        return md, call(req_cls(**fields), timeout=10)

    _, backends = unary("maglev.Maglev", "ListBackends", {})
    print("backends", ",".join(b.name for b in backends.backends))
    print("backend-states", ",".join(f"{b.name}={b.state}" for b in backends.backends))

    md, health = unary("grpc.health.v1.Health", "Check", {"service": ""})
    status = md.output_type.enum_types_by_name["ServingStatus"].values_by_number[health.status].name
    print("health", status)

    # v1 reflection, spoken by hand with the descriptors fetched above.
    req_cls = message_class(pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionRequest"))
    resp_cls = message_class(pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionResponse"))
    info = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=req_cls.SerializeToString,
        response_deserializer=resp_cls.FromString,
    )
    replies = list(
        info(
            iter([req_cls(list_services=""), req_cls(file_containing_symbol="maglev.Nope")]),
            timeout=10,
        )
    )
    print("v1-services", ",".join(sorted(s.name for s in replies[0].list_services_response.service)))
    print("v1-unknown-symbol", replies[1].error_response.error_code)


if __name__ == "__main__":
    main(sys.argv[1])
