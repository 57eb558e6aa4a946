from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def write(tmp_path):
    """write(text, name='s.yaml') -> path of a new scenario file."""

    def _write(text: str, name: str = "s.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write
