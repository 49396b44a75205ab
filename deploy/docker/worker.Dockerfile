# fl-worker image (CPU, Debian's LibTorch). Hospitals with a GPU build fl-worker against
# their CUDA LibTorch instead (see docs/deploy.md).
#   docker build -f deploy/docker/worker.Dockerfile -t fl-worker .
FROM debian:bookworm AS build
COPY scripts/setup.sh /src/scripts/setup.sh
RUN bash /src/scripts/setup.sh
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFL_BUILD_TESTS=OFF \
    && cmake --build /build -j2 --target fl-worker

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libtorch1.13 libopenblas0-openmp libzmq5 libprotobuf32 libsodium23 libzip4 libstb0 libnifti2-2 \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 fl
COPY --from=build /build/worker/fl-worker /usr/local/bin/fl-worker
USER 10001
ENTRYPOINT ["/usr/local/bin/fl-worker"]
CMD ["--config", "/etc/fl/worker.json"]
