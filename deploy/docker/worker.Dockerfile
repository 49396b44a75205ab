# fl-worker image (CPU, Debian's LibTorch). Hospitals with a GPU build fl-worker against
# their CUDA LibTorch instead (see docs/deploy.md).
#   docker build -f deploy/docker/worker.Dockerfile -t fl-worker .
# BASE_IMAGE: any Debian bookworm image with apt (scripts/build-images.sh makes one with
# mmdebstrap, so that no registry is needed).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config libtorch-dev libopenblas0-openmp \
      libzmq3-dev cppzmq-dev libprotobuf-dev protobuf-compiler libsodium-dev nlohmann-json3-dev \
      libzip-dev zlib1g-dev libstb-dev libnifti2-dev libcpp-httplib-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFL_BUILD_TESTS=OFF \
    && cmake --build /build -j2 --target fl-worker fl-prep

FROM ${BASE_IMAGE}
# libtorch1.13 brings its own dependencies; libniftiio2 and libznz3 are nifticlib (NIfTI).
RUN apt-get update && apt-get install -y --no-install-recommends \
      libtorch1.13 libopenblas0-openmp libzmq5 libprotobuf32 libsodium23 libzip4 libstb0 libniftiio2 libznz3 \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 fl
COPY --from=build /build/worker/fl-worker /usr/local/bin/fl-worker
COPY --from=build /build/worker/prep/fl-prep /usr/local/bin/fl-prep
USER 10001
ENTRYPOINT ["/usr/local/bin/fl-worker"]
CMD ["--config", "/etc/fl/worker.json"]
