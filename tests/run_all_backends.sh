#!/usr/bin/env bash
# The test suite once per Keras backend (the backend is fixed when keras is imported).
# Under jax and torch only the tests marked `all_backends` are collected (conftest.py).
# Extra arguments go to each pytest run, e.g. `bash tests/run_all_backends.sh -x`.
cd "$(dirname "$0")/.."
status=0
for backend in tensorflow jax torch; do
  echo "== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python3 -m pytest -q "$@" || status=1
done
exit $status
