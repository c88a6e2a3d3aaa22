"""Fixtures shared by the integration tests."""

from datetime import date

import pytest

from flowlake.config import load_config
from flowlake.generate.dumps import generate
from flowlake.progress import Progress
from tests.conftest import write_config


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """Two generated days in a raw folder; tests copy it so each starts from the same dumps."""
    folder = tmp_path_factory.mktemp("generated")
    config = load_config(write_config(folder))
    truth = generate(config, date(2017, 7, 1), date(2017, 7, 2), 1500, 11, Progress("test"))
    return folder / "raw", truth
