# fl-coordinator image: Debian bookworm, no LibTorch (the coordinator never links it).
#   docker build -f deploy/docker/coordinator.Dockerfile -t fl-coordinator .
# BASE_IMAGE: any Debian bookworm image with apt (scripts/build-images.sh makes one with
# mmdebstrap, so that no registry is needed).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config libzmq3-dev cppzmq-dev \
      libprotobuf-dev protobuf-compiler libsodium-dev nlohmann-json3-dev libzip-dev libstb-dev libnifti2-dev \
      libcpp-httplib-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DFL_BUILD_WORKER=OFF -DFL_BUILD_TESTS=OFF \
    && cmake --build /build --target fl-coordinator

FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends \
      libzmq5 libprotobuf32 libsodium23 libzip4 libcpp-httplib0.11 \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 fl
COPY --from=build /build/coordinator/fl-coordinator /usr/local/bin/fl-coordinator
USER 10001
EXPOSE 7000 9100
ENTRYPOINT ["/usr/local/bin/fl-coordinator"]
CMD ["--config", "/etc/fl/coordinator.json"]
