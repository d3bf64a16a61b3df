#!/bin/sh
# Make /usr/bin/chromium available for the browser tests of `infantpose label` (Playwright drives
# the system Chromium; Playwright's own browser download is not used). Installs it with apt-get
# only when it is missing and we are root; never fails the build: without Chromium those tests
# skip with a reason.
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: /usr/bin/chromium missing and cannot apt-get install it here; browser tests will skip" >&2
    exit 0
fi
echo "ensure_chromium: installing chromium (apt-get) for the browser tests" >&2
( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ) >/dev/null 2>&1 \
    || echo "ensure_chromium: apt-get install chromium failed; browser tests will skip" >&2
exit 0
