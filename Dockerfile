# vpp-maglev: maglevd and maglevc in a small Debian image.
#
#   docker build --build-arg MAGLEV_COMMIT=$(git rev-parse --short HEAD) -t vpp-maglev .
#   docker run --rm -p 9090:9090 -p 9091:9091 \
#       -v /etc/vpp-maglev:/etc/vpp-maglev:ro vpp-maglev
#
# To drive a VPP on the host, run with --network host, mount /run/vpp and
# add the container to VPP's group (--group-add <gid>). See
# docs/user-guide.md.

FROM rust:1-bookworm AS build
# gRPC's C core (grpcio-sys) is built from source with CMake and g++, its
# TLS on Debian's OpenSSL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake g++ libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# .git is not sent to the builder; the commit shown by --version comes
# from this argument instead.
ARG MAGLEV_COMMIT=unknown
ENV MAGLEV_COMMIT=${MAGLEV_COMMIT}
RUN cargo build --release --locked -p maglevd -p maglevc \
    && install -D -m 0755 target/release/maglevd /out/usr/sbin/maglevd \
    && install -D -m 0755 target/release/maglevc /out/usr/bin/maglevc \
    && install -D -m 0644 debian/maglev.yaml /out/etc/vpp-maglev/maglev.yaml

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system maglevd \
    && useradd --system --gid maglevd --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin maglevd
COPY --from=build /out/ /
USER maglevd
# In a container the API must listen beyond loopback to be published.
# Plaintext there is refused unless overridden explicitly, as here: publish
# it only where that is safe (e.g. -p 127.0.0.1:9090:9090).
ENV MAGLEV_GRPC_ADDR=0.0.0.0:9090 \
    MAGLEV_GRPC_INSECURE_REMOTE=true \
    MAGLEV_METRICS_ADDR=:9091
EXPOSE 9090 9091
ENTRYPOINT ["/usr/sbin/maglevd"]
