#!/usr/bin/env bash
# The test suite once per Keras backend (the backend is fixed when keras is imported).
# Under jax and torch only the tests marked `all_backends` are collected (conftest.py).
# Extra arguments go to each pytest run, e.g. `bash tests/run_all_backends.sh -x`.
#
# Four pytest runs share two lanes, so that both cores work (the figures are in the
# closing note of issue 18; KERAS_WGAN_TESTS_ONE_AT_A_TIME=1 runs them one after another):
#   tensorflow   the TensorFlow tests that run in this process (mostly one thread of
#                Python tracing tiny train steps): lane 1, first;
#   processes    the TensorFlow tests marked `processes` (they start backends, replicas
#                and workers of their own): lane 2, first;
#   jax, torch   the other backends: whichever lane is free first takes the next one.
# The output of each run is printed in that order when all have ended.
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
# One persistent XLA cache for every JAX process of the run (the pytest processes and
# the workers and CLI runs they start): many tests compile the same tiny programs.
export JAX_COMPILATION_CACHE_DIR="${JAX_COMPILATION_CACHE_DIR:-$logs/jax_cache}"
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="${JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS:-0}"
export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="${JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES:-0}"

run() {  # run NAME: one pytest run, its output and exit status into $logs
  case $1 in
    tensorflow) KERAS_BACKEND=tensorflow python3 -m pytest -q -m "not processes" "${@:2}" ;;
    processes) KERAS_BACKEND=tensorflow python3 -m pytest -q -p no:cacheprovider \
                 -m processes "${@:2}" ;;
    *) KERAS_BACKEND=$1 python3 -m pytest -q -p no:cacheprovider "${@:2}" ;;
  esac >"$logs/$1.log" 2>&1
  echo $? >"$logs/$1.rc"
}

lane() {  # lane FIRST: FIRST, then each shared run no other lane has claimed (mkdir is atomic)
  run "$1" "${@:2}"
  for shared in jax torch; do
    if mkdir "$logs/claim.$shared" 2>/dev/null; then
      run "$shared" "${@:2}"
    fi
  done
}

lane processes "$@" &
second=$!
lane tensorflow "$@"
wait $second
for name in tensorflow processes jax torch; do
  case $name in
    tensorflow) echo "== KERAS_BACKEND=tensorflow (tests in this process)" ;;
    processes) echo "== KERAS_BACKEND=tensorflow (tests that start processes of their own)" ;;
    *) echo "== KERAS_BACKEND=$name" ;;
  esac
  cat "$logs/$name.log"
  rc=$(cat "$logs/$name.rc" 2>/dev/null)
  # 5: pytest collected nothing (e.g. -k selecting no test of that run), not a failure.
  [ "$rc" = "0" ] || [ "$rc" = "5" ] || status=1
done
rm -rf "$logs"
exit $status
