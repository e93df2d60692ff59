# syntax=docker/dockerfile:1
# The bluegreen job image: one static binary on distroless.
#
# GitLab runs a job's script through a shell inside the job image, so the
# final stage is distroless static's debug-nonroot variant: the same static,
# non-root base plus busybox's sh. Nothing else is in it.
FROM golang:1.27.3-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY internal/ internal/
ARG VERSION=dev
RUN go build -trimpath \
      -ldflags "-s -w -X gitlab.com/platform/bluegreen/internal/cli.version=${VERSION}" \
      -o /out/bluegreen ./cmd/bluegreen

FROM gcr.io/distroless/static-debian12:debug-nonroot
COPY --from=build /out/bluegreen /usr/local/bin/bluegreen
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/bluegreen"]
