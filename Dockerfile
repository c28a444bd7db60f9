# Multi-stage build on Debian 12: build and run the tests, then a slim runtime image.
#   docker build -t exai-gateway .
#   docker run --rm -p 127.0.0.1:3005:3005 -p 127.0.0.1:3002:3002 exai-gateway
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates g++ cmake ninja-build ccache nodejs npm \
      libboost1.81-dev libboost-log1.81-dev libboost-json1.81-dev libboost-test1.81-dev \
      libvalijson-dev libmimalloc-dev dpkg-dev file libssl-dev openssl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The debug suite (all layers but interop, which needs npm packages) gates the image.
RUN cmake --preset debug && cmake --build --preset debug -j"$(nproc)" \
    && ctest --preset debug -LE interop -j"$(nproc)"
RUN cmake --preset release && cmake --build --preset release -j"$(nproc)" \
      --target exai-gateway exai-daemon

FROM debian:12-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends \
      curl libboost-log1.81.0 libboost-json1.81.0 libboost-thread1.81.0 libboost-filesystem1.81.0 \
      libmimalloc2.0 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home exai
COPY --from=build /src/build/release/bin/exai-gateway /src/build/release/bin/exai-daemon /usr/local/bin/
COPY conf/gateway.json conf/daemon.json /etc/exai/
USER exai
EXPOSE 3005 3002
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD curl -fsS http://127.0.0.1:3002/health || exit 1
# In a container the gateway listens on all interfaces; publish the ports on the host's loopback.
CMD ["exai-gateway", "--listen", "0.0.0.0:3005", "--admin", "0.0.0.0:3002", "--upstream", "embedded"]
