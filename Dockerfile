# syntax=docker/dockerfile:1
#
# accessbot in a container: docker build -t accessbot . (see README.md,
# "Run it with Docker").
#
# Build stage. The SQLite driver (mattn/go-sqlite3) is C, so the build needs
# cgo and gcc. The binary is linked fully static so that the runtime image
# needs no libc at all:
#   -linkmode external -extldflags "-static"  gcc links libc and SQLite in;
#   netgo, osusergo                            Go's own DNS resolver and user
#                                              lookup, so glibc's NSS (which
#                                              cannot work statically) is never
#                                              called;
#   sqlite_omit_load_extension                 no dlopen() of SQLite extensions
#                                              (nothing to load in a static
#                                              binary, and the linker warns);
#   -s -w                                      no symbol table or DWARF: smaller.
# The Go version matches go.mod (cmd/accessbot/dockerfile_test.go checks it).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath \
      -tags 'netgo osusergo sqlite_omit_load_extension' \
      -ldflags '-s -w -linkmode external -extldflags "-static"' \
      -o /out/accessbot ./cmd/accessbot \
 && /out/accessbot check-config examples/config.yaml \
 && mkdir -p /out/data

# Runtime stage: distroless "static" holds CA certificates (for slack.com),
# time zone data and a nonroot user (65532), and no shell or package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/accessbot /usr/local/bin/accessbot
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /src/examples/config.yaml /etc/accessbot/config.example.yaml

# Where things live. The tokens (SLACK_BOT_TOKEN, SLACK_APP_TOKEN) are never
# here: pass them at run time (docker run -e, an env file or a secret store).
ENV ACCESSBOT_CONFIG=/etc/accessbot/config.yaml \
    ACCESSBOT_DB=/data/accessbot.db \
    ACCESSBOT_HTTP_ADDR=:8080 \
    ACCESSBOT_LOG_FORMAT=json

# The SQLite database (with its -wal and -shm files) lives on this volume;
# the configuration is mounted read-only at /etc/accessbot/config.yaml.
VOLUME ["/data"]
# /healthz, /readyz and /metrics.
EXPOSE 8080
USER 65532:65532

# The binary probes itself (the image has no curl): /healthz answers while
# the process serves; use `accessbot healthcheck --ready` for readiness.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/accessbot", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/accessbot"]
CMD ["serve"]
