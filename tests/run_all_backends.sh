#!/usr/bin/env bash
# The test suite once per Keras backend (the backend is fixed when keras is imported).
# Under jax and torch only the tests marked `all_backends` are collected (conftest.py).
# Extra arguments go to each pytest run, e.g. `bash tests/run_all_backends.sh -x`.
#
# The jax and torch runs (a small subset, mostly single-threaded XLA compiles and Python)
# go beside the TensorFlow run, whose subprocess tests leave cores idle: on 2 cores this
# cuts the wall time by about the length of the jax run. Their output is printed after
# TensorFlow's. KERAS_WGAN_TESTS_ONE_AT_A_TIME=1 runs the three one after another.
cd "$(dirname "$0")/.."
status=0
if [ "${KERAS_WGAN_TESTS_ONE_AT_A_TIME:-0}" = "1" ]; then
  for backend in tensorflow jax torch; do
    echo "== KERAS_BACKEND=$backend"
    KERAS_BACKEND=$backend python3 -m pytest -q "$@" || status=1
  done
  exit $status
fi
logs=$(mktemp -d)
(
  for backend in jax torch; do
    KERAS_BACKEND=$backend python3 -m pytest -q -p no:cacheprovider "$@" >"$logs/$backend.log" 2>&1
    echo $? >"$logs/$backend.rc"
  done
) &
others=$!
echo "== KERAS_BACKEND=tensorflow"
KERAS_BACKEND=tensorflow python3 -m pytest -q "$@" || status=1
wait $others
for backend in jax torch; do
  echo "== KERAS_BACKEND=$backend"
  cat "$logs/$backend.log"
  [ "$(cat "$logs/$backend.rc" 2>/dev/null)" = "0" ] || status=1
done
rm -rf "$logs"
exit $status
