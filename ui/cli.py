"""`claimbot`: the one command line, a thin click layer over the library.

Each command calls one library function and turns that library's specific exceptions into a one-line error
(exit status 1, or 2 when the arguments or the files they name cannot be used). The command line is the
top layer: it may import `ui` (to serve) and everything below it; nothing imports it. Heavy modules (torch,
gradio, transformers) load only inside the commands that need them, so `claimbot --help` and the store
commands start fast.

This module is long because it is one flat list of thin commands of a few lines each, kept in one module
so that it is the one place that shows everything `claimbot` can do.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click

from claims.errors import ClaimError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# `--synthetic` without N; the same as vision_models.train.DEFAULT_SYNTHETIC (not imported here: it imports
# torch), which a test keeps equal.
DEFAULT_SYNTHETIC = 1800


class InputError(click.ClickException):
    """The arguments, or the files they name, cannot be used (a missing folder, a malformed CSV): exit status 2."""

    exit_code = 2


class _RecordsArgs(click.Command):
    """A command that keeps the arguments it was given in `ctx.meta["argv"]` (a model card records them)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["argv"] = list(args)
        return super().parse_args(ctx, args)


def _settings(data: str | None = None, **overrides):
    from pydantic import ValidationError

    from claims.config import load_settings

    if data:
        overrides["data_dir"] = Path(data)
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        raise click.ClickException(f"invalid settings:\n{exc}") from None


def _db_path(settings) -> Path:
    return Path(settings.data_dir) / "claims.db"


def _open_store(settings, *, must_exist: bool = False):
    from claims.store import SchemaTooNew, Store

    path = _db_path(settings)
    if must_exist and not path.is_file():
        raise click.ClickException(f"no database at {path} (run `claimbot seed-demo` or `claimbot serve` first)")
    try:
        return Store.open(path)
    except SchemaTooNew as exc:
        raise click.ClickException(str(exc)) from None


data_option = click.option(
    "--data",
    "data",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder holding claims.db and the photo store (default: settings data_dir, ./data).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="claimbot")
def main() -> None:
    """Damage-claim intake bot: photos and complaint in, a fair decision out; people for the hard cases."""


# --- serving and the store ------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: $GRADIO_SERVER_PORT or 7860).")
@data_option
@click.option(
    "--vision-weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="Head weights written by `claimbot vision train` (default: the shipped ones).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Add the demo orders DEMO-1001 ... DEMO-1010 (public test data: never on a real deployment).",
)
def serve(host: str | None, port: int | None, data: str | None, vision_weights: str | None, demo: bool) -> None:
    """Start the customer app (/), the review tab (/review) and the dashboard."""
    from claims import accounts, demo_orders

    host = host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    try:
        port = port or int(os.environ.get("GRADIO_SERVER_PORT") or DEFAULT_PORT)
    except ValueError:
        raise click.ClickException("GRADIO_SERVER_PORT must be a port number") from None
    overrides = {}
    if vision_weights:
        if not Path(vision_weights).is_file():
            raise click.ClickException(f"no weights file at {vision_weights}")
        overrides["vision_weights"] = str(vision_weights)
    settings = _settings(data, **overrides)
    try:
        with _open_store(settings) as store:
            if demo:
                demo_orders.seed(store)
            generated = accounts.ensure_accounts(store, settings)
            orders = store.count_orders()
    except ClaimError as exc:
        raise click.ClickException(str(exc)) from None
    if generated:
        click.echo(accounts.announcement(*generated), err=True)
    if not orders:
        click.echo(
            f"No orders in {_db_path(settings)} yet: claims will wait for a person until you import them with "
            "`claimbot import-orders FILE.csv` (or try the demo with `claimbot serve --demo --data data/demo`).",
            err=True,
        )
    from ui.app import serve as serve_app  # imports gradio and the models' code: only here

    serve_app(settings=settings, host=host, port=port)


@main.command("seed-demo")
@data_option
def seed_demo(data: str | None) -> None:
    """Create the database if needed and (re)load the demo orders DEMO-1001 ... DEMO-1010."""
    from claims import demo_orders

    settings = _settings(data)
    with _open_store(settings) as store:
        count = demo_orders.seed(store, force=True)
    ids = demo_orders.DEMO_ORDER_IDS
    click.echo(f"Seeded {count} demo orders ({ids[0]} ... {ids[-1]}) into {_db_path(settings)}")


@main.command("import-orders")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@data_option
def import_orders(csv_file: str, data: str | None) -> None:
    """Import (or update) orders from a CSV file; a file with any bad row imports nothing.

    Columns: order_id, email, item_name, value (required); customer_name, sku, category, currency,
    ordered_at, delivered_at (ISO 8601), in_stock (true/false), stock_count (optional).
    """
    from claims.demo_orders import OrdersFileError, read_orders_csv

    try:
        orders = read_orders_csv(csv_file)
    except OrdersFileError as exc:
        raise click.ClickException(str(exc)) from None
    settings = _settings(data)
    with _open_store(settings) as store:
        count = store.upsert_orders(orders, source="import")
    click.echo(f"Imported {count} orders into {_db_path(settings)}")


@main.command()
@click.argument("target", type=click.Path(dir_okay=False))
@data_option
def backup(target: str, data: str | None) -> None:
    """Copy the database to TARGET with SQLite's online backup (safe while the server runs).

    Photos are plain files under photos/ beside the database; copy that folder too (files never change).
    """
    settings = _settings(data)
    if Path(target).resolve() == _db_path(settings).resolve():
        raise click.ClickException("the backup target is the database itself")
    with _open_store(settings, must_exist=True) as store:
        store.backup(target)
    click.echo(f"Backed up {_db_path(settings)} to {target}")


@main.command("export-labels")
@click.argument("folder", type=click.Path(file_okay=False))
@data_option
def export_labels(folder: str, data: str | None) -> None:
    """Copy photos whose label a reviewer corrected into FOLDER/<label>/ for `claimbot vision train`."""
    from claims.photos import PhotoStore
    from claims.service import export_labelled_examples

    settings = _settings(data)
    with _open_store(settings, must_exist=True) as store:
        counts = export_labelled_examples(store, PhotoStore(_db_path(settings).parent / "photos"), folder)
    total = sum(counts.values())
    detail = ", ".join(f"{label}: {n}" for label, n in sorted(counts.items())) or "none yet"
    click.echo(f"Exported {total} labelled photos to {folder} ({detail})")
    if total:
        click.echo(f"Train on them with: python -m vision_models.train {folder} --out out/head.pt")


# --- delivery -------------------------------------------------------------------------------------------


@main.command()
@data_option
@click.option("--drain", is_flag=True, help="Deliver until nothing is pending, then exit.")
@click.option("--requeue-dead", is_flag=True, help="First give dead messages a fresh set of attempts.")
@click.option(
    "--poll",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Seconds between looks at the outbox.",
)
def outbox(data: str | None, drain: bool, requeue_dead: bool, poll: float) -> None:
    """Deliver the outbox's messages (webhook, or the ledger table) without a server; until Ctrl-C unless --drain."""
    from claims.outbox import OutboxDispatcher
    from claims.outbox import requeue_dead as requeue

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = _settings(data)
    with _open_store(settings, must_exist=True) as store:
        try:
            dispatcher = OutboxDispatcher(store, settings, poll_seconds=poll)
        except ValueError as exc:  # a webhook URL without a secret
            raise click.ClickException(str(exc)) from None
        if requeue_dead:
            click.echo(f"Requeued {requeue(store)} dead messages")
        if drain:
            dispatcher.drain()
            dead = len(store.outbox_rows(state="dead"))
            click.echo(
                f"Nothing pending in {_db_path(settings)}"
                + (f"; {dead} dead messages (retry them with `claimbot outbox --requeue-dead`)" if dead else "")
            )
            return
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        dispatcher.start()
        click.echo(f"Delivering to {settings.webhook_url or 'the ledger table'}; stop with Ctrl-C", err=True)
        while not stopped.wait(0.5) and dispatcher.running:
            pass
        dispatcher.stop()


@main.command("webhook-receiver")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8081, show_default=True, help="Port.")
@click.option(
    "--secret",
    required=True,
    envvar="CLAIMBOT_WEBHOOK_SECRET",
    show_envvar=True,
    help="The same value as claimbot's webhook_secret.",
)
def webhook_receiver(host: str, port: int, secret: str) -> None:
    """Run the example webhook receiver (claims.webhook_receiver): print each verified message once per key."""
    from claims.webhook_receiver import WebhookReceiver, make_server

    receiver = WebhookReceiver(secret, process=lambda key, payload: click.echo(f"{key} {json.dumps(payload)}"))
    try:
        server = make_server(receiver, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"listening on http://{host}:{server.server_port}/", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- the damage classifier ------------------------------------------------------------------------------


@main.group()
def vision() -> None:
    """The damage classifier: train a head on labelled photos, score it, make the sample photos."""


@vision.command("train", cls=_RecordsArgs)
@click.argument("image_dir", required=False, type=click.Path(file_okay=False))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the head weights (.pt; the model card goes beside it as .json).",
)
@click.option(
    "--synthetic",
    type=click.IntRange(min=0),
    default=0,
    is_flag=False,
    flag_value=DEFAULT_SYNTHETIC,
    metavar="[N]",
    help=f"Also train on N generated scenes ({DEFAULT_SYNTHETIC} when N is left out).",
)
@click.option(
    "--views",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Augmented views per photo (the first is the photo itself).",
)
@click.option(
    "--holdout",
    type=float,
    default=0.2,
    show_default=True,
    help="Fraction of photos held out for the metrics, in [0, 1).",
)
@click.option(
    "--tune/--no-tune",
    default=None,
    help="Also fine-tune the backbone's last two blocks (default: on for an image folder alone, off with --synthetic).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--cache",
    type=click.Path(file_okay=False),
    default=None,
    help="Feature cache folder (default: $CLAIMBOT_FEATURE_CACHE or /tmp/claimbot-features).",
)
@click.option("--no-cache", is_flag=True, help="Compute every feature afresh and keep none.")
@click.pass_context
def vision_train(
    ctx: click.Context,
    image_dir: str | None,
    out: str,
    synthetic: int,
    views: int,
    holdout: float,
    tune: bool | None,
    seed: int,
    cache: str | None,
    no_cache: bool,
) -> None:
    """Train the damage head on IMAGE_DIR (ImageFolder: one folder per label, or intact/damaged) and/or
    generated scenes; calibrate it; write the weights and a model card (serve them with --vision-weights)."""
    from vision_models import train as training  # torch: only here

    command = " ".join([ctx.command_path, *ctx.meta.get("argv", [])])
    cache_dir = None if no_cache else (cache or training.DEFAULT_CACHE)
    try:
        training.train(
            image_dir,
            out,
            synthetic=synthetic,
            views=views,
            holdout=holdout,
            seed=seed,
            cache_dir=cache_dir,
            tune=tune,
            log=click.echo,
            command=command,
        )
    except (OSError, ValueError) as exc:  # a missing folder or file, an unreadable photo, a bad layout or option
        raise InputError(str(exc)) from None


@vision.command("evaluate")
@click.argument("image_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="Head weights from `claimbot vision train` (default: the shipped head).",
)
@click.option(
    "--confusion-png", type=click.Path(dir_okay=False), default=None, help="Also draw the confusion matrix to this PNG."
)
def vision_evaluate(image_dir: str, as_json: bool, weights: str | None, confusion_png: str | None) -> None:
    """Score a damage head on IMAGE_DIR (ImageFolder): accuracy, per-class precision and recall, confusion
    matrix, expected calibration error."""
    from vision_models.evaluate import evaluate_folder, format_report, save_confusion_png

    try:
        report = evaluate_folder(image_dir, weights)
    except (OSError, ValueError) as exc:  # a missing folder or file, an unreadable photo, a bad layout
        raise InputError(str(exc)) from None
    if confusion_png:
        save_confusion_png(report, confusion_png)
    click.echo(json.dumps(report) if as_json else format_report(report))


@vision.command("samples")
@click.argument("folder", required=False, default="sample_images", type=click.Path(file_okay=False))
def vision_samples(folder: str) -> None:
    """Write the generated demo photos (6 per label, 640 px) to FOLDER/<label>/ (default: sample_images)."""
    from vision_models.synth import write_samples

    try:
        paths = write_samples(folder)
    except OSError as exc:
        raise InputError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    click.echo(f"wrote {len(paths)} demo photos under {folder}")


# --- the complaint reader -------------------------------------------------------------------------------


@main.group()
def text() -> None:
    """The complaint reader: retrain its heads, score it on a labelled CSV, rewrite its corpus."""


@text.command("train")
@click.option(
    "--corpus",
    "corpus_csv",
    type=click.Path(dir_okay=False),
    default=None,
    help="Training CSV (default: claims/complaint/data/complaints_train.csv).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Heads file (default: claims/complaint/data/complaint_heads.npz).",
)
def text_train(corpus_csv: str | None, out: str | None) -> None:
    """Refit the complaint heads on the training corpus; print the card written beside them."""
    from claims.complaint import training
    from claims.complaint.corpus import CsvError

    try:
        card = training.train(corpus_csv, out=out)
    except (CsvError, FileNotFoundError) as exc:
        raise InputError(str(exc)) from None
    click.echo(json.dumps(card, indent=2))


@text.command("evaluate")
@click.argument("csv_file", type=click.Path(dir_okay=False))
@click.option(
    "--heads",
    type=click.Path(dir_okay=False),
    default=None,
    help="Heads file written by `claimbot text train` (default: the shipped heads).",
)
@click.option(
    "--where",
    metavar="COLUMN=VALUE",
    default=None,
    help="Score only the rows whose COLUMN equals VALUE, e.g. source=handwritten.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def text_evaluate(csv_file: str, heads: str | None, where: str | None, as_json: bool) -> None:
    """Score the complaint reader on a labelled CSV_FILE (a `text` column plus any of intent, wants_human,
    frustrated, damage_types, sentiment)."""
    from claims.complaint import training
    from claims.complaint.corpus import CsvError

    try:
        report = training.evaluate(csv_file, heads=heads, where=where)
    except (CsvError, FileNotFoundError) as exc:
        raise InputError(str(exc)) from None
    click.echo(json.dumps(report) if as_json else training.format_report(report))


@text.command("corpus")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder (default: claims/complaint/data/).")
def text_corpus(out: str | None) -> None:
    """Rewrite the train and test CSV files of the complaint corpus (deterministic)."""
    from claims.complaint import corpus

    try:
        written = corpus.generate(out)
    except (corpus.CsvError, OSError, ValueError) as exc:  # an unreadable handwritten file, an unwritable folder
        raise InputError(str(exc)) from None
    click.echo(
        f"wrote {written['n_train']} train and {written['n_test']} test messages "
        f"({written['n_handwritten']} handwritten) to {written['train'].parent}"
    )


# --- benchmarks -----------------------------------------------------------------------------------------


def _bench_run_module():
    """`bench.run` from the source checkout: bench/ is not installed with claimbot."""
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (root / "bench" / "run.py").is_file():
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            break
    try:
        import bench.run
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", "bench.run"):
            raise
        raise click.ClickException(
            "the benchmarks are not installed with claimbot: run `claimbot bench` from a checkout of the "
            "repository (they live in its bench/ folder)"
        ) from None
    return bench.run


@main.command()
@click.argument("names", nargs=-1)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the results (default: bench/results.json in the repository).",
)
def bench(names: tuple[str, ...], out: str | None) -> None:
    """Run the benchmarks (all, or the NAMES given: vision, text, service, e2e); print one table and write
    the results as JSON. Needs a checkout of the repository."""
    run = _bench_run_module()
    unknown = [name for name in names if name not in run.BENCHES]
    if unknown:
        raise click.BadParameter(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(run.BENCHES)}", param_hint="NAMES"
        )
    out_path = Path(out) if out else run.DEFAULT_OUT
    results = run.run_benchmarks(names, out=out_path, log=click.echo)
    click.echo("\n" + run.format_table(results))
    click.echo(f"\nmachine: {results['machine']}\nwritten: {out_path}")


if __name__ == "__main__":
    main()
