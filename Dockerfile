# syntax=docker/dockerfile:1
# Build: docker build -t credrotate:dev --build-arg VERSION=$(git describe --tags --always) .

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules in their own layer, so code changes do not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
ARG VERSION=dev
ARG COMMIT=none
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/credrotate ./cmd/credrotate

# distroless static: CA certificates and tzdata, no shell, runs as nonroot
# (65532). Nothing is written outside /tmp, so a read-only root filesystem
# works; mount an emptyDir at /tmp.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/credrotate /usr/local/bin/credrotate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/credrotate"]
CMD ["renew", "--cron-mode", "--config", "/etc/credrotate/credrotate.yaml"]
