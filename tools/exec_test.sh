#!/usr/bin/env bash
# Runs the checker binary given first with the remaining arguments (the
# tools/defs.bzl test macros): its exit code is the test's.
exec "$@"
