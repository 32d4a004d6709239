#!/usr/bin/env bash
# Refresh the vendored plotly.js under static/vendor/plotly/ from the pip package
# `plotly` (pinned in requirements/dev.txt), which ships plotly.min.js as package data.
# The leaderboard pages load it from our static files: nothing from a CDN.
# Usage: tools/refresh_plotly.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${1:-$ROOT/.venv/bin/python}"
DEST="$ROOT/static/vendor/plotly"
SRC="$("$PY" -c 'import os, plotly; print(os.path.join(os.path.dirname(plotly.__file__), "package_data"))')"
LIC="$("$PY" - <<'PYEOF'
import glob, os, plotly
site = os.path.dirname(os.path.dirname(plotly.__file__))
hits = glob.glob(os.path.join(site, "plotly-*.dist-info", "licenses", "LICENSE*")) + \
       glob.glob(os.path.join(site, "plotly-*.dist-info", "LICENSE*"))
print(hits[0] if hits else "")
PYEOF
)"
mkdir -p "$DEST"
cp "$SRC/plotly.min.js" "$DEST/plotly.min.js"
[ -n "$LIC" ] && cp "$LIC" "$DEST/LICENSE.txt"
# The first comment of the bundle names the plotly.js version.
sed -n 's/^\* plotly\.js v\([0-9.]*\).*/\1/p' "$DEST/plotly.min.js" | head -1 > "$DEST/VERSION"
echo "plotly.js $(cat "$DEST/VERSION") vendored into $DEST"
