#!/usr/bin/env bash
# Builds the xtcp-epoll OCI image: publishes the Native AOT daemon, stages it with the one librdkafka it
# loads, and runs `podman build` on deploy/container/Containerfile.
#
#   deploy/container/build.sh [--base IMAGE] [--tag NAME] [--publish-dir DIR]
#
#   --base IMAGE       base image (Containerfile ARG BASE; default gcr.io/distroless/cc-debian12)
#   --tag NAME         image name (default localhost/xtcp-epoll:<git describe>, also tagged :latest)
#   --publish-dir DIR  use a binary already published there instead of publishing (tests reuse one publish)
#
# Environment: CONTAINERS_CONF (podman settings), PUBLISH_ARGS (extra `dotnet publish` arguments).
# Prints the image name on its last line.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
base=gcr.io/distroless/cc-debian12
tag=""
publish_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --publish-dir) publish_dir=$2; shift 2 ;;
    *) echo "build.sh: unknown argument $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
done
version=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo dev)
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
[ -n "$tag" ] || tag="localhost/xtcp-epoll:$version"

stage=$(mktemp -d "${TMPDIR:-/tmp}/xtcp-epoll-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
if [ -z "$publish_dir" ]; then
  publish_dir="$stage/publish"
  # shellcheck disable=SC2086 # PUBLISH_ARGS is a list of arguments
  dotnet publish "$repo/src/Host" -c Release -r linux-x64 -p:PublishAot=true ${PUBLISH_ARGS:-} -o "$publish_dir" -nologo -v q >&2
fi
[ -x "$publish_dir/xtcp-epoll" ] || { echo "build.sh: no xtcp-epoll binary in $publish_dir" >&2; exit 1; }
mkdir -p "$stage/context/bin"
cp "$publish_dir/xtcp-epoll" "$stage/context/bin/"
# librdkafka.redist's default build needs libsasl2.so.3, which Debian 12 lacks; its centos8 build needs only
# libc. Staged under the name Confluent.Kafka loads first, so the image holds one librdkafka, not three.
if [ -f "$publish_dir/centos8-librdkafka.so" ]; then
  cp "$publish_dir/centos8-librdkafka.so" "$stage/context/bin/librdkafka.so"
else
  cp "$publish_dir/librdkafka.so" "$stage/context/bin/librdkafka.so"
fi
cp "$repo/deploy/container/Containerfile" "$stage/context/Containerfile"

podman build --quiet -f "$stage/context/Containerfile" \
  --build-arg "BASE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$tag" "$stage/context" >&2
echo "$tag"
