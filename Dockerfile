# glmv in a container: a static binary on a small base image with ffmpeg
# (for video input), running as a non-root user.
#
#   docker build -t glmv .
#   docker run --rm -p 8080:8080 -v ~/models:/models:ro glmv \
#       serve -m /models/GLM-4.1V-9B-Thinking --addr 0.0.0.0:8080
#
# The model is not in the image: mount the checkpoint folder (or GGUF files)
# read-only under /models.

# ---- build ----
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/glmv ./cmd/glmv

# ---- run ----
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin glmv
COPY --from=build /out/glmv /usr/local/bin/glmv
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/glmv"]
CMD ["serve", "-m", "/models/model", "--addr", "0.0.0.0:8080"]
