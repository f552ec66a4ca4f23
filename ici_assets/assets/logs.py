"""The engine's progress messages in a Dagster run's log."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg


@contextmanager
def engine_log(context: dg.AssetExecutionContext) -> Iterator[None]:
    """The engine's progress messages (Python logging under ``ici_assets.engine``: Monte Carlo draws added, caps
    reached) in the run's log while the block runs."""

    class _Forward(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            (context.log.warning if record.levelno >= logging.WARNING else context.log.info)(record.getMessage())

    logger, handler = logging.getLogger("ici_assets.engine"), _Forward()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
