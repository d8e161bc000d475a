#!/usr/bin/env bash
# The test suite once per Keras backend (the backend is fixed when keras is imported).
# Under jax and torch only the tests marked `all_backends` are collected (conftest.py).
# Extra arguments go to each pytest run, e.g. `bash tests/run_all_backends.sh -x`.
#
# Two lanes, side by side, so that both cores work (measured in the closing note of
# issue 18; KERAS_WGAN_TESTS_ONE_AT_A_TIME=1 runs everything one after another):
#   lane 1: the TensorFlow run of the tests in this process (mostly one thread of
#           Python: tracing tiny train steps);
#   lane 2: the TensorFlow tests marked `processes` (they start backends, replicas and
#           workers of their own), then the jax run, then the torch run.
# Lane 2's output is printed after lane 1's.
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
  KERAS_BACKEND=tensorflow python3 -m pytest -q -p no:cacheprovider -m processes "$@" \
    >"$logs/processes.log" 2>&1
  echo $? >"$logs/processes.rc"
  for backend in jax torch; do
    KERAS_BACKEND=$backend python3 -m pytest -q -p no:cacheprovider "$@" >"$logs/$backend.log" 2>&1
    echo $? >"$logs/$backend.rc"
  done
) &
others=$!
echo "== KERAS_BACKEND=tensorflow (tests in this process)"
KERAS_BACKEND=tensorflow python3 -m pytest -q -m "not processes" "$@"
rc=$?
# 5: pytest collected nothing (e.g. -k selecting no test of that lane), not a failure.
[ "$rc" = "0" ] || [ "$rc" = "5" ] || status=1
wait $others
for lane in processes jax torch; do
  case $lane in
    processes) echo "== KERAS_BACKEND=tensorflow (tests that start processes of their own)" ;;
    *) echo "== KERAS_BACKEND=$lane" ;;
  esac
  cat "$logs/$lane.log"
  rc=$(cat "$logs/$lane.rc" 2>/dev/null)
  [ "$rc" = "0" ] || [ "$rc" = "5" ] || status=1
done
rm -rf "$logs"
exit $status
