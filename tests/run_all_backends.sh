#!/usr/bin/env bash
# The test suite once per Keras backend (the backend is fixed when keras is imported).
# Under jax and torch only the tests marked `all_backends` are collected (conftest.py).
#
#   bash tests/run_all_backends.sh          every test but the few marked `long`
#   bash tests/run_all_backends.sh --all    the whole suite, the `long` ones too (CI runs this)
#
# `long` marks the end-to-end runs that must stay long: a file moved between all three
# backends, replicas against one device, the multi-process CLI, a 64 px colour run.
# Other arguments go to each pytest run, e.g. `bash tests/run_all_backends.sh -x`.
#
# The pytest runs share two lanes, so that both cores work (figures in the closing notes
# of issue 18; KERAS_WGAN_TESTS_ONE_AT_A_TIME=1 runs them one after another):
#   tensorflow   the TensorFlow tests that run in the pytest process (mostly one thread
#                of Python tracing tiny train steps), but those marked all_backends:
#                lane 1, first;
#   long         (--all only) the `long` runs: lane 2, first;
#   tensorflow_all_backends, jax, processes, torch, docs
#                the TensorFlow run of the tests marked all_backends, the other
#                backends' runs, the TensorFlow tests marked `processes` (they start
#                backends, replicas and workers of their own) and the docs test (marked
#                `docs`: the site built --strict, the pages' code run; once, not per
#                backend): whichever lane is free first takes the next one, in that
#                order (the longest first).
# Each test is collected by exactly one run (the others leave out `long`). Each run's
# output and its seconds are printed in that order when all have ended.
cd "$(dirname "$0")/.."
status=0
all=0
if [ "${1:-}" = "--all" ]; then
  all=1
  shift
fi
if [ "${KERAS_WGAN_TESTS_ONE_AT_A_TIME:-0}" = "1" ]; then
  marks=(-m "not long")
  [ $all = 1 ] && marks=()
  for backend in tensorflow jax torch; do
    echo "== KERAS_BACKEND=$backend"
    KERAS_BACKEND=$backend python3 -m pytest -q "${marks[@]}" "$@" || status=1
  done
  exit $status
fi
logs=$(mktemp -d)
# One persistent XLA cache for every JAX process of the run (the pytest processes and
# the workers and CLI runs they start): many tests compile the same tiny programs.
export JAX_COMPILATION_CACHE_DIR="${JAX_COMPILATION_CACHE_DIR:-$logs/jax_cache}"
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="${JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS:-0}"
export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="${JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES:-0}"

run() {  # run NAME: one pytest run, its output, exit status and seconds into $logs
  local started=$SECONDS
  case $1 in
    tensorflow) KERAS_BACKEND=tensorflow python3 -m pytest -q \
                  -m "not processes and not long and not all_backends and not docs" "${@:2}" ;;
    tensorflow_all_backends) KERAS_BACKEND=tensorflow python3 -m pytest -q -p no:cacheprovider \
                  -m "all_backends and not processes and not long" "${@:2}" ;;
    processes) KERAS_BACKEND=tensorflow python3 -m pytest -q -p no:cacheprovider \
                 -m "processes and not long" "${@:2}" ;;
    long) KERAS_BACKEND=tensorflow python3 -m pytest -q -p no:cacheprovider -m long "${@:2}" ;;
    docs) KERAS_BACKEND=tensorflow python3 -m pytest -q -p no:cacheprovider -m "docs and not long" "${@:2}" ;;
    *) KERAS_BACKEND=$1 python3 -m pytest -q -p no:cacheprovider -m "not long" "${@:2}" ;;
  esac >"$logs/$1.log" 2>&1
  echo $? >"$logs/$1.rc"
  echo $((SECONDS - started)) >"$logs/$1.seconds"
}

lane() {  # lane [FIRST]: FIRST, then each shared run no other lane has claimed (mkdir is atomic)
  [ -n "$1" ] && run "$1" "${@:2}"
  for shared in tensorflow_all_backends jax processes torch docs; do
    if mkdir "$logs/claim.$shared" 2>/dev/null; then
      run "$shared" "${@:2}"
    fi
  done
}

names="tensorflow tensorflow_all_backends jax processes torch docs"
if [ $all = 1 ]; then
  names="tensorflow long tensorflow_all_backends jax processes torch docs"
  lane long "$@" &
else
  lane "" "$@" &
fi
second=$!
lane tensorflow "$@"
wait $second
for name in $names; do
  took="($(cat "$logs/$name.seconds" 2>/dev/null) s)"
  case $name in
    tensorflow) echo "== KERAS_BACKEND=tensorflow (tests in this process) $took" ;;
    tensorflow_all_backends)
      echo "== KERAS_BACKEND=tensorflow (tests marked all_backends, in this process) $took" ;;
    processes) echo "== KERAS_BACKEND=tensorflow (tests that start processes of their own) $took" ;;
    long) echo "== KERAS_BACKEND=tensorflow (the long end-to-end runs) $took" ;;
    docs) echo "== the docs (site, code blocks, command lines; KERAS_BACKEND=tensorflow) $took" ;;
    *) echo "== KERAS_BACKEND=$name $took" ;;
  esac
  cat "$logs/$name.log"
  rc=$(cat "$logs/$name.rc" 2>/dev/null)
  # 5: pytest collected nothing (e.g. -k selecting no test of that run), not a failure.
  [ "$rc" = "0" ] || [ "$rc" = "5" ] || status=1
done
rm -rf "$logs"
exit $status
