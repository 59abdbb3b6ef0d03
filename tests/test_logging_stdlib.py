"""``RedactingFilter`` on the host's own standard-library handlers: a real log file
holds no email, card number or resident registration number, whether they come
in the message, its arguments, a traceback or ``extra`` fields; %-formatting,
format strings and one line per record keep working; and the ``dictConfig``
recipe of docs/logging.md does it as written."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flask_casenote_privacy.logging import RedactingFilter

EMAIL = "probe.member@example.kr"
CARD = "4111111111111111"
RRN = "900101-1234567"
PROBES = (EMAIL, CARD, RRN)
DOCS = Path(__file__).parent.parent / "docs" / "logging.md"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[tuple[logging.Logger, Path]]:
    """A logger of the host writing to a real file through the filter. It does not
    propagate: what reaches the file is what the filter let through, and nothing
    raw reaches pytest's own capture."""
    path = tmp_path / "host.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("hostapp.views")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, path
    handler.close()
    logger.handlers.clear()
    logger.propagate = True


def written(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    for probe in PROBES:
        assert probe not in text, f"{probe} reached the log file"
    return text


def test_personal_data_in_the_message_and_its_arguments_is_redacted_in_the_file(
    log_file: tuple[logging.Logger, Path],
) -> None:
    log, path = log_file
    log.info("login failed for %s", EMAIL)
    log.info("paid with %d, resident number %s", int(CARD), RRN)
    log.warning(f"f-string from {EMAIL}")
    log.info("progress 100%% for %(who)s", {"who": EMAIL})
    assert written(path).splitlines() == [
        "INFO hostapp.views: login failed for [email]",
        "INFO hostapp.views: paid with [card], resident number [rrn]",
        "WARNING hostapp.views: f-string from [email]",
        "INFO hostapp.views: progress 100% for [email]",
    ]


def test_a_percent_sign_left_in_the_redacted_text_is_not_read_as_a_placeholder(
    log_file: tuple[logging.Logger, Path],
) -> None:
    log, path = log_file
    log.info("search %s", f"q=%s%d {EMAIL} 50%")
    log.info("%s", "kim%40example.com")  # percent-encoded: found decoded
    assert written(path).splitlines() == [
        "INFO hostapp.views: search q=%s%d [email] 50%",
        "INFO hostapp.views: [email]",
    ]


def test_a_record_with_nothing_to_redact_keeps_its_format_string_and_arguments(
    log_file: tuple[logging.Logger, Path],
) -> None:
    log, path = log_file
    records: list[logging.LogRecord] = []
    keeper = logging.Handler()
    keeper.emit = records.append  # type: ignore[method-assign]
    log.addHandler(keeper)
    log.info("order %s shipped in %d days", "A-1001", 3)
    log.info("mail for %s", EMAIL)
    assert (records[0].msg, records[0].args) == ("order %s shipped in %d days", ("A-1001", 3))
    assert (records[1].msg, records[1].args) == ("mail for [email]", ())  # a grouping key without the address
    assert written(path).splitlines()[0] == "INFO hostapp.views: order A-1001 shipped in 3 days"


def test_one_line_per_record_whatever_the_text(log_file: tuple[logging.Logger, Path]) -> None:
    log, path = log_file
    log.info("user agent %s", "Mozilla\r\nINFO hostapp.views: forged line")
    assert written(path).splitlines() == [
        "INFO hostapp.views: user agent Mozilla\\r\\nINFO hostapp.views: forged line",
    ]


def test_arguments_that_do_not_fit_are_logged_redacted_instead_of_printed_raw(
    log_file: tuple[logging.Logger, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    log, path = log_file
    log.info("two %s %s", EMAIL)  # logging's own error report would print the argument on stderr
    assert "--- Logging error ---" not in capsys.readouterr().err
    (line,) = written(path).splitlines()
    assert line.startswith("INFO hostapp.views: two %s %s (arguments that do not fit the message: (")
    assert "[email]" in line


def test_a_traceback_is_redacted_line_by_line(log_file: tuple[logging.Logger, Path]) -> None:
    log, path = log_file
    try:
        raise ValueError(f"no member with {EMAIL} or {RRN}")
    except ValueError:
        log.exception("lookup failed")
    log.info("where", stack_info=True)
    lines = written(path).splitlines()
    assert lines[0] == "ERROR hostapp.views: lookup failed"
    assert lines[1] == "Traceback (most recent call last):"  # the traceback keeps its lines
    assert "ValueError: no member with [email] or [rrn]" in lines
    assert "Stack (most recent call last):" in lines


def test_extra_fields_are_redacted_for_the_formatter(tmp_path: Path) -> None:
    path = tmp_path / "extra.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s email=%(member_email)s tags=%(tags)s"))
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("hostapp.extra")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("signup", extra={"member_email": EMAIL, "tags": {"phone": "010-1234-5678", "n": 3}})
    finally:
        handler.close()
        log.removeHandler(handler)
    assert written(path) == "signup email=[email] tags={'phone': '[phone]', 'n': 3}\n"


def test_two_handlers_with_the_filter_write_the_same_redacted_line(tmp_path: Path) -> None:
    log = logging.getLogger("hostapp.twice")
    log.propagate = False
    handlers = [logging.FileHandler(tmp_path / f"{n}.log", encoding="utf-8") for n in (1, 2)]
    for handler in handlers:
        handler.addFilter(RedactingFilter())
        log.addHandler(handler)
    try:
        log.warning("a\nb %s", EMAIL)
    finally:
        for handler in handlers:
            handler.close()
            log.removeHandler(handler)
    assert written(tmp_path / "1.log") == written(tmp_path / "2.log") == "a\\nb [email]\n"


def documented_recipe() -> str:
    """The dictConfig block of docs/logging.md, as a host would copy it."""
    section = DOCS.read_text(encoding="utf-8").split("## Standard-library logging", 1)[1]
    match = re.search(r"```python\n(# logcfg.py\n.*?)```", section, re.S)
    assert match, "docs/logging.md lost its dictConfig recipe"
    return match.group(1)


def test_the_documented_dictconfig_recipe_keeps_personal_data_out_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    recipe = documented_recipe()
    assert 'LOG_FILE = "/var/log/casenote/app.log"' in recipe
    script = recipe.replace("/var/log/casenote/app.log", path.as_posix()) + (
        "import logging\n"
        f"logging.getLogger('casenote.views').warning('login failed for %s', {EMAIL!r})\n"
        f"logging.getLogger('flask_casenote_privacy.mail').info('to %s card %d', {EMAIL!r}, {CARD})\n"
        "try:\n"
        f"    raise KeyError({RRN!r})\n"
        "except KeyError:\n"
        "    logging.getLogger('casenote').exception('lookup')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    for probe in PROBES:
        assert probe not in done.stderr
    text = written(path)
    assert "WARNING casenote.views: login failed for [email]" in text
    assert "INFO flask_casenote_privacy.mail: to [email] card [card]" in text
    assert "KeyError: '[rrn]'" in text
