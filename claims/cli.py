"""`claimbot`: a thin click layer over the library. Each command opens the store, calls one library function
and turns the library's errors into a clean message. Heavy modules (torch, gradio) load only in `serve`.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from claims.errors import ClaimError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


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
    "--data", "data", type=click.Path(file_okay=False), default=None,
    help="Folder holding claims.db and the photo store (default: settings data_dir, ./data).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="claimbot")
def main() -> None:
    """Damage-claim intake bot: photos and complaint in, a fair decision out; people for the hard cases."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: $GRADIO_SERVER_PORT or 7860).")
@data_option
@click.option("--vision-weights", type=click.Path(dir_okay=False), default=None,
              help="Head weights written by `python -m vision_models.train` (default: the shipped ones).")
@click.option("--demo", is_flag=True,
              help="Add the demo orders DEMO-1001 ... DEMO-1010 (public test data: never on a real deployment).")
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
    DEMO_ORDER_IDS = demo_orders.DEMO_ORDER_IDS
    click.echo(f"Seeded {count} demo orders ({DEMO_ORDER_IDS[0]} ... {DEMO_ORDER_IDS[-1]}) into {_db_path(settings)}")


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
    """Copy photos whose label a reviewer corrected into FOLDER/<label>/ for `python -m vision_models.train`."""
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


if __name__ == "__main__":
    main()
