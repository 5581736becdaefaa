# syntax=docker/dockerfile:1
#
# One image for the whole platform: the five binaries (auth-service, interview-service,
# scoring-service, audit-writer, interviewer). The container's command picks the process:
#
#   docker run IMAGE                                 # `interviewer`, the all-in-one demo
#   docker run IMAGE auth-service                    # or: auth-service migrate | create-admin
#   docker run IMAGE interview-service               # scoring-service, audit-writer likewise
#
# docker-compose.yml (and the Kubernetes manifests) set `command:` per service.
#
# Build:  docker build -t ai-interviewer:latest .
#
# Stages:
#   chef     the Rust toolchain plus cargo-chef (crates.io), shared by the next two
#   planner  reduces the workspace to a recipe: manifests + Cargo.lock, no sources
#   builder  cooks (compiles) the dependencies from the recipe in their own layer, so that
#            a change to the sources alone re-runs only the final `cargo build`
#   runtime  debian:bookworm-slim with the binaries, run as UID 10001
#
# Nothing native is needed at build time: TLS is rustls everywhere (no OpenSSL), and
# crates/platform-proto/build.rs uses a vendored protoc.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS chef
ARG CARGO_CHEF_VERSION=0.1.78
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

# ---------------------------------------------------------------------------------------
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# ---------------------------------------------------------------------------------------
FROM chef AS builder
# The packages whose binaries ship. Cook and build select the same packages so that
# feature unification, and so every cooked artifact, is identical in both steps.
ARG PACKAGES="-p auth-service -p interview-service -p scoring-service -p audit-writer -p interviewer"
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml/Cargo.lock change.
RUN cargo chef cook --release --locked ${PACKAGES} --recipe-path recipe.json
# Now the sources (see .dockerignore for what stays out of the context).
COPY . .
RUN cargo build --release --locked ${PACKAGES} \
 && mkdir -p /out \
 && for bin in auth-service interview-service scoring-service audit-writer interviewer; do \
        install -m 0755 "target/release/${bin}" /out/; \
    done

# ---------------------------------------------------------------------------------------
# Runtime: debian:bookworm-slim rather than distroless. The binaries link glibc only
# (rustls, no OpenSSL), so distroless/cc would run them too, but it has no shell and no
# HTTP client, and the compose healthchecks (`curl -fsS http://localhost:PORT/healthz`)
# need one inside the container. bookworm-slim + curl + ca-certificates is ~80 MB and
# keeps `docker compose exec SERVICE sh` available for operators.
FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/interviewer \
        --shell /usr/sbin/nologin app \
 && mkdir -p /var/lib/interviewer \
 && chown 10001:10001 /var/lib/interviewer

COPY --from=builder /out/ /usr/local/bin/

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/interviewer

# Listen on every interface inside the container. These equal the split services'
# defaults; they matter for `interviewer`, whose embedded defaults are 127.0.0.1 (it keeps
# its gRPC ports on loopback, which is what the all-in-one process wants).
# INTERVIEWER_DATA_DIR: where `interviewer` keeps its SQLite file and generated key;
# mount a volume there to keep them.
ENV AUTH_HTTP_ADDR=0.0.0.0:8000 \
    INTERVIEW_HTTP_ADDR=0.0.0.0:8001 \
    SCORING_HTTP_ADDR=0.0.0.0:8002 \
    AUDIT_HTTP_ADDR=0.0.0.0:8003 \
    INTERVIEWER_DATA_DIR=/var/lib/interviewer/data

# HTTP: auth 8000, interview 8001, scoring 8002, audit-writer 8003.
# gRPC: auth 50051, interview 50052.
EXPOSE 8000 8001 8002 8003 50051 50052

# No ENTRYPOINT: the command is the binary, so `command: ["auth-service", "migrate"]`
# reads as what runs. The default is the all-in-one demo on the embedded default.
CMD ["interviewer"]
