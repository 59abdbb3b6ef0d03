"""The app's own standard-library logging: one file and stderr, both through the
extension's RedactingFilter, so no email or card number is written in clear."""

import logging.config

import structlog

from flask_casenote_privacy.logging import processors as privacy_processors


def configure_logging(log_file):
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": "flask_casenote_privacy.logging.RedactingFilter"}},
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
            "handlers": {
                "file": {
                    "class": "logging.handlers.WatchedFileHandler",
                    "filename": log_file,
                    "encoding": "utf-8",
                    "formatter": "plain",
                    "filters": ["redact"],
                },
                "stderr": {
                    "class": "logging.StreamHandler",
                    "stream": "ext://sys.stderr",
                    "formatter": "plain",
                    "filters": ["redact"],
                },
            },
            "root": {"level": "INFO", "handlers": ["file", "stderr"]},
        }
    )
    # The extension's access event ("http.access") is a structlog event: send it
    # through the same handlers, tagged and redacted by the extension's processors.
    structlog.configure(
        processors=[*privacy_processors(), structlog.processors.KeyValueRenderer(key_order=["event"])],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # No cache_logger_on_first_use: a cached logger would keep this chain after
        # a later structlog.configure() (each test's create_app(), capture_logs()).
    )
