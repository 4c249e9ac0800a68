# syntax=docker/dockerfile:1
# Build: docker build -t credrotate:dev --build-arg VERSION=$(git describe --tags --always) .

# Base images are pinned by digest (the tag says what the image is, the
# digest decides which one it is); updating one is a reviewed commit.
# test/packaging fails on an image without a digest.
FROM golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d AS build
WORKDIR /src
# Modules in their own layer, so code changes do not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
COPY pkg ./pkg
ARG VERSION=dev
ARG COMMIT=none
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/credrotate ./cmd/credrotate

# distroless static: CA certificates and tzdata, no shell, no git, no
# package manager; runs as nonroot (65532). Only the credrotate binary is
# copied in (never credrotate-sandbox); test/packaging checks all of this. Nothing is written outside /tmp, so a read-only root filesystem
# works; mount an emptyDir at /tmp.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /out/credrotate /usr/local/bin/credrotate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/credrotate"]
CMD ["renew", "--cron-mode", "--config", "/etc/credrotate/credrotate.yaml"]
