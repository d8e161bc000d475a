"""Colour pictures at 64x64 on 2 CPU cores, at equal CPU time: DCGAN vs ResNet nets, each
without and with DiffAugment, on a real folder and on a 10% subset of it.

Data: Debian's ``oxygen-icon-theme`` (``apt-get install oxygen-icon-theme``), whose
``/usr/share/icons/oxygen/base/64x64/<context>/`` holds 587 distinct 64x64 RGBA icons
drawn by one team in one style: real colour pictures that ship offline, at the size the
small-folder users bring, with transparency (composited onto white, as the loader does),
and with their icon-theme context (actions, apps, devices, mimetypes, places, ...) as
labels, so the yardstick is the labelled one. Symlinks and byte-identical files are left
out; the 10% subset is every tenth file in sorted order.

Each cell trains ``WGANGP.from_preset(PRESET, nets=..., augment=...)`` (``--preset``,
default ``fashion_mnist_32_v1``, the recipe the published table measured) at ``--dim``
for a budget of process CPU time, in its own process, and is scored against the full
folder's held-out test split (every 5th file, never trained on: see
``keras_wgan.data.folders.folder_split_arrays``) with the offline domain yardstick
(``DomainYardstick``: a small CNN trained once on the folder's training split, cached),
beside the real-data floor at the same sample size. Each cell saves a sample grid.

    python benchmarks/colour_quality.py --budget-minutes 5 --out runs/colour

prints the table in the README ("Colour images"); ``--smoke`` runs a few seconds a cell.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

ICONS = "/usr/share/icons/oxygen/base/64x64"
ARCHS = ("dcgan", "resnet")
AUGMENTS = ("off", "color,translation,cutout")
SUBSETS = ("full", "10%")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--icons", default=ICONS, help=f"folder of <context>/*.png; {ICONS}")
    p.add_argument("--out", default="runs/colour_quality")
    p.add_argument("--budget-minutes", type=float, default=5.0,
                   help="process CPU minutes of training per cell (2 cores: about half "
                        "as many wall minutes)")
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-eval", type=int, default=96, help="images scored per cell")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cells", default=None,
                   help="comma-separated cells to run, as arch/augment/subset "
                        "(e.g. resnet/off/full); default all eight")
    p.add_argument("--smoke", action="store_true", help="a few CPU seconds a cell")
    p.add_argument("--panel-only", action="store_true",
                   help="redraw OUT/panel.png and the table from OUT/results.json")
    p.add_argument("--preset", default="fashion_mnist_32_v1",
                   help="the keras_wgan.presets recipe every cell builds on; default "
                        "fashion_mnist_32_v1 (the published table's: the compile() optimizers, "
                        "n_critic 5); fashion_mnist_32 or small_colour_64 (their WGAN-GP: "
                        "the recipe search's winner) re-check it on the new recipe")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def prepare_folders(icons, out):
    """``out/data/full`` (each distinct regular file once) and ``out/data/subset10``."""
    full, subset = os.path.join(out, "data", "full"), os.path.join(out, "data", "subset10")
    if os.path.isdir(full) and os.path.isdir(subset):
        return full, subset
    if not os.path.isdir(icons):
        sys.exit(f"{icons} does not exist: install Debian's oxygen-icon-theme "
                 "(apt-get install oxygen-icon-theme) or pass --icons DIR")
    seen, files = set(), []
    for context in sorted(os.listdir(icons)):
        folder = os.path.join(icons, context)
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not name.endswith(".png") or os.path.islink(path):
                continue
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                files.append((context, name, path))
    for target, chosen in ((full, files), (subset, files[::10])):
        for context, name, path in chosen:
            os.makedirs(os.path.join(target, context), exist_ok=True)
            shutil.copyfile(path, os.path.join(target, context, name))
    return full, subset


def cell_name(cell):
    arch, augment, subset = cell
    return f"{arch}-{'aug' if augment != 'off' else 'plain'}-{'full' if subset == 'full' else 'subset10'}"


def run_cell(args, cell, full, subset):
    """Train one cell for the budget, score it, save its grid; returns its figures."""
    import keras
    import numpy as np

    from keras_wgan import WGANGP, data
    from keras_wgan.cli.training import choices
    from keras_wgan.evaluation import DomainYardstick
    from keras_wgan.images import save_image_grid

    arch, augment, which = cell
    folder = full if which == "full" else subset
    yardstick = DomainYardstick.for_dataset(full, (64, 64, 3),
                                            cache_dir=os.path.join(args.out, "cache"))
    # Train on the training split only: the scoring images stay unseen.
    train_images, _ = data.load_labelled_arrays(folder, "train", image_size=64, channels=3)
    batch = min(args.batch_size, len(train_images))
    dataset = data.load_dataset(train_images, image_size=None, batch_size=batch,
                                shuffle=True, seed=args.seed).repeat()
    keras.utils.set_random_seed(args.seed)
    gan = WGANGP.from_preset(args.preset, nets=arch, image_shape=(64, 64, 3),
                             dim=args.dim, augment=choices.model_augment(augment),
                             seed=args.seed)
    budget = (0.1 if args.smoke else args.budget_minutes) * 60

    class Budget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.process_time()
            self.wall = time.perf_counter()

        def on_train_batch_end(self, step, logs=None):
            if time.process_time() - self.start >= budget:
                self.model.stop_training = True

    timer = Budget()
    gan.fit(dataset, epochs=10_000, steps_per_epoch=gan.n_critic, verbose=0,
            callbacks=[timer])
    cpu, wall = time.process_time() - timer.start, time.perf_counter() - timer.wall
    n = min(args.n_eval, len(yardstick.train_images))
    images = gan.generate(n, seed=args.seed)
    figures = yardstick.score(images, seed=args.seed)
    floor = yardstick.floor(n, seed=args.seed)
    grid = os.path.join(args.out, f"{cell_name(cell)}.png")
    save_image_grid(gan.generate(64, seed=args.seed + 1), grid, columns=8)
    return {
        "cell": cell_name(cell), "arch": arch, "augment": augment, "subset": which,
        "train_images": int(len(train_images)), "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "generator_updates": int(gan.generator_optimizer.iterations),
        "critic_updates": int(gan.critic_optimizer.iterations),
        "fd": figures["fd"], "kd": figures["kd"], "is": figures["is"],
        "modes": figures["modes_covered"], "num_classes": figures["num_classes"],
        "fd_floor": floor["fd"], "kd_floor": floor["kd"], "is_floor": floor["is"],
        "n_eval": n, "grid": grid, "dim": args.dim, "batch_size": batch,
        "memorised": nearest_real_distance(images, train_images),
    }


def nearest_real_distance(images, train_images):
    """Mean over generated images of the RMS pixel distance to the nearest training
    image: a collapse onto copies of the (small) training set drives it down."""
    import numpy as np

    g = images.reshape(len(images), -1).astype("float64")
    r = train_images.reshape(len(train_images), -1).astype("float64")
    d2 = (g ** 2).sum(1)[:, None] + (r ** 2).sum(1)[None, :] - 2 * g @ r.T
    return float(np.sqrt(np.maximum(d2.min(1), 0) / g.shape[1]).mean())


def panel(results, path, tiles=4):
    """One picture of every cell: the first ``tiles`` x ``tiles`` samples of its grid, the
    cells of a subset in one row, captioned (for the README)."""
    from PIL import Image, ImageDraw

    from keras_wgan.images import SEPARATOR

    side = tiles * (64 + SEPARATOR) - SEPARATOR
    caption, gap = 14, 8
    rows = [s for s in SUBSETS if any(r["subset"] == s for r in results)]
    columns = [(a, g) for a in ARCHS for g in AUGMENTS]
    picture = Image.new("RGB", (len(columns) * (side + gap) - gap,
                                len(rows) * (side + caption + gap) - gap), "white")
    draw = ImageDraw.Draw(picture)
    for r in results:
        x = columns.index((r["arch"], r["augment"])) * (side + gap)
        y = rows.index(r["subset"]) * (side + caption + gap)
        with Image.open(r["grid"]) as grid:
            picture.paste(grid.convert("RGB").crop((0, 0, side, side)), (x, y + caption))
        draw.text((x, y), f"{r['arch']} {'aug' if r['augment'] != 'off' else 'plain'} "
                          f"{r['subset']}: fd {r['fd']:.2f}", fill="black")
    picture.save(path)
    return path


def print_table(results):
    print(f"\n{'cell':<24}{'images':>7}{'G upd':>7}{'cpu s':>7}{'fd':>9}{'kd':>8}"
          f"{'is':>6}{'modes':>7}{'near':>6}")
    for r in results:
        print(f"{r['cell']:<24}{r['train_images']:>7}{r['generator_updates']:>7}"
              f"{r['cpu_s']:>7.0f}{r['fd']:>9.2f}{r['kd']:>8.3f}{r['is']:>6.2f}"
              f"{r['modes']:>4}/{r['num_classes']}{r['memorised']:>6.3f}")
    if results:
        r = results[0]
        print(f"{'real floor':<24}{'':>7}{'':>7}{'':>7}{r['fd_floor']:>9.2f}"
              f"{r['kd_floor']:>8.3f}{r['is_floor']:>6.2f}")


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    full, subset = prepare_folders(args.icons, args.out)
    if args.panel_only:
        with open(os.path.join(args.out, "results.json")) as f:
            results = json.load(f)
        print_table(results)
        print(f"Panel: {panel(results, os.path.join(args.out, 'panel.png'))}")
        return 0
    if args.child:
        cell = tuple(json.loads(args.child))
        print(json.dumps(run_cell(args, cell, full, subset)), flush=True)
        return 0
    cells = [(a, g, s) for s in SUBSETS for a in ARCHS for g in AUGMENTS]
    if args.cells:
        wanted = set(args.cells.split(","))
        cells = [c for c in cells if f"{c[0]}/{'off' if c[1] == 'off' else 'aug'}/"
                 f"{'full' if c[2] == 'full' else '10%'}" in wanted
                 or cell_name(c) in wanted]
    results = []
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    for cell in cells:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, *passthrough, "--child",
                               json.dumps(cell)], capture_output=True, text=True)
        if done.returncode:
            print(done.stdout[-2000:], done.stderr[-4000:], file=sys.stderr)
            return done.returncode
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"{result['cell']}: {result['generator_updates']} generator updates in "
              f"{result['cpu_s']:.0f} CPU s ({time.perf_counter() - started:.0f} s wall with "
              f"scoring), fd {result['fd']:.2f} (floor {result['fd_floor']:.2f})", flush=True)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    print_table(results)
    if results:
        print(f"Panel: {panel(results, os.path.join(args.out, 'panel.png'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
