"""What each process shows process 0 at start-up, and the first difference between two.

Every process of a multi-process run runs the same command (only ``--process-id``
differs) with the same package versions; process 0 compares each other process's hello
with its own and every process refuses the first difference, naming the flag or the
package.
"""


def versions():
    """The package versions every process must share."""
    from importlib import metadata

    from keras_wgan import __version__

    found = {"keras-wgan": __version__}
    for package in ("keras", "jax", "jaxlib"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def difference(ours, theirs, process_id):
    """The first difference between process 0's hello and another's, in words, or None."""
    for key in sorted(set(ours["command"]) | set(theirs["command"])):
        a, b = ours["command"].get(key), theirs["command"].get(key)
        if a != b:
            shown = lambda value: "(not given)" if value is None else repr(value)  # noqa: E731
            return (f"process {process_id} runs with {key} {shown(b)} where process 0 "
                    f"runs with {key} {shown(a)}: every process runs the same command, "
                    "only --process-id differs")
    for package in sorted(ours["versions"]):
        a, b = ours["versions"][package], theirs["versions"].get(package)
        if a != b:
            return (f"process {process_id} has {package} {b} where process 0 has {a}: "
                    f"install the same versions on every machine (pip install "
                    f"{package}=={a})")
    return None
