#!/usr/bin/env bash
# Refresh the vendored three.js under static/vendor/three/ from the npm registry.
# Usage: tools/refresh_three.sh [VERSION]   (default: the pinned version below)
# Only the files the labeling page imports are kept (plus LICENSE), so the
# repository holds no Node step and nothing is fetched from a CDN at run time.
set -euo pipefail
VERSION="${1:-0.187.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/static/vendor/three"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "three@$VERSION" >/dev/null)
tar -xzf "$WORK"/three-"$VERSION".tgz -C "$WORK"
PKG="$WORK/package"

FILES=(
  LICENSE
  build/three.module.js
  build/three.core.js
  examples/jsm/loaders/GLTFLoader.js
  examples/jsm/utils/BufferGeometryUtils.js
  examples/jsm/utils/SkeletonUtils.js
)
rm -rf "$DEST"
for f in "${FILES[@]}"; do
  mkdir -p "$DEST/$(dirname "$f")"
  cp "$PKG/$f" "$DEST/$f"
done
echo "$VERSION" > "$DEST/VERSION"
echo "three.js $VERSION vendored into $DEST"
