# hone: one image for `hone api`, `hone worker`, `hone migrate` and `hone serve`.
#
# Stage 1 plans the dependency build from the manifests alone (cargo-chef), stage 2 builds
# only the dependencies (a layer that changes when Cargo.lock does), stage 3 builds hone,
# and the runtime stage is Debian slim with what the sandbox runs: bubblewrap, python3,
# nodejs, and tini as PID 1 (it reaps the sandbox's children and forwards SIGTERM).
# The sandbox needs user namespaces in the container: see docs/deployment.md.

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.73
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release -p hone && cp target/release/hone /usr/local/bin/hone

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap python3 nodejs tini ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder /usr/local/bin/hone /usr/local/bin/hone
# The recorded example, for jobs without a model key (HONE_REPLAY_FILE in docker-compose.yml).
COPY examples/ /usr/share/hone/examples/
WORKDIR /var/lib/hone
ENV HONE_LISTEN=0.0.0.0:8080 \
    HONE_LOG_FORMAT=json
EXPOSE 8080 9464
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/hone"]
CMD ["serve"]
