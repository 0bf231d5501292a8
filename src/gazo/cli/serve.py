"""`gazo serve`: the HTTP server (FastAPI on uvicorn), or the same app on Ray Serve with `--ray`."""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from gazo.api.app import create_app
from gazo.api.connections import guarded_protocol
from gazo.cli.db import prepare_storage_or_exit
from gazo.cli.logs import configure_logging
from gazo.cli.options import load_settings, settings_options


@click.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--ray", "on_ray", is_flag=True, help="Serve on Ray Serve (one ModelWorker per model).")
@click.option("--address", default=None, help="With --ray: cluster to join (e.g. auto).")
@click.option(
    "--require-auth", is_flag=True, help="Refuse requests without a valid API key, even on loopback."
)
@settings_options
def serve(
    host: str | None,
    port: int | None,
    log_level: str,
    on_ray: bool,
    address: str | None,
    require_auth: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Serve the OpenAI-compatible Images API."""
    configure_logging(log_level)
    settings = load_settings(config_file, data_dir)
    overrides = {"host": host, "port": port}
    server = settings.server.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    settings = settings.model_copy(update={"server": server})
    if address:
        settings = settings.model_copy(update={"ray": settings.ray.model_copy(update={"address": address})})
    if require_auth:
        billing = settings.billing.model_copy(update={"require_auth": True})
        settings = settings.model_copy(update={"billing": billing})
    prepare_storage_or_exit(settings)  # a broken data dir or database: one line, not uvicorn's traceback
    if on_ray:
        from gazo.deploy.ray_serve import run

        run(settings)
        return
    uvicorn.run(
        create_app(settings),
        host=server.host,
        port=server.port,
        log_level=log_level,
        timeout_graceful_shutdown=max(1, round(server.shutdown_grace_s)),
        http=guarded_protocol(server),
    )
