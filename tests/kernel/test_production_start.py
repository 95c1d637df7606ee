"""Production refuses the sandboxes, unless a staging city says so, and then every page does."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from shahr import bootstrap, cli, startup
from shahr.kernel.container import StartupRefusedError
from shahr.kernel.settings import Settings
from shahr.web import create_app

SECRET = "a-production-secret-of-enough-length"


def production(tmp_path: Path, **values: object) -> Settings:
    return Settings(  # type: ignore[arg-type]  # pydantic coerces the secret
        environment="production",
        secret_key=SECRET,
        var_dir=tmp_path,
        run_jobs=False,
        run_simulators=False,
        **values,
    )


def test_production_on_the_sandboxes_refuses_to_start_and_names_each(tmp_path: Path) -> None:
    with pytest.raises(StartupRefusedError) as refused:
        bootstrap.build(production(tmp_path))

    message = str(refused.value)
    assert "the sandbox bank" in message
    assert "the console SMS adapter" in message
    assert "SHAHR_ALLOW_SANDBOX_IN_PRODUCTION=1" in message


def test_development_runs_on_the_sandboxes_without_a_banner(tmp_path: Path) -> None:
    container = bootstrap.build(Settings(var_dir=tmp_path, run_jobs=False))

    assert container.sandboxes
    assert not container.is_staging


def test_serve_in_production_on_the_sandboxes_prints_one_line_and_exits(tmp_path: Path) -> None:
    env = {
        "SHAHR_ENVIRONMENT": "production",
        "SHAHR_SECRET_KEY": SECRET,
        "SHAHR_VAR_DIR": str(tmp_path),
    }

    result = CliRunner().invoke(cli.app, ["serve"], env=env)

    assert result.exit_code == 2
    assert result.output.startswith("shahr: production will not start on test adapters")
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.db")), "a refused start touches no database"


def test_serve_with_a_settings_error_says_which_in_one_line(tmp_path: Path) -> None:
    env = {"SHAHR_ENVIRONMENT": "production", "SHAHR_VAR_DIR": str(tmp_path)}

    result = CliRunner().invoke(cli.app, ["worker"], env=env)

    assert result.exit_code == 2
    assert "SHAHR_SECRET_KEY must be set in production" in result.output
    assert "Traceback" not in result.output


def a_port_nobody_answers() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["demo", "seed"], ["import", "areas", "{file}"]],
    ids=["db upgrade", "demo seed", "import areas"],
)
def test_a_command_whose_database_does_not_answer_says_so_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    areas = tmp_path / "areas.geojson"
    areas.write_text('{"type": "FeatureCollection", "features": []}')
    env = {
        "SHAHR_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{a_port_nobody_answers()}/x",
        "SHAHR_VAR_DIR": str(tmp_path),
    }
    arguments = [part.format(file=areas) for part in command]

    result = CliRunner().invoke(cli.app, arguments, env=env)

    assert result.exit_code == 1
    assert "is not answering (ConnectionRefusedError)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Test city."), ("fa", "شهر آزمایشی.")],
)
async def test_a_staging_city_says_so_on_every_page(
    tmp_path: Path, language: str, words: str
) -> None:
    settings = production(
        tmp_path,
        allow_sandbox_in_production=True,
        database_url=f"sqlite:///{tmp_path / 'shahr.db'}",
        default_language=language,
    )
    container = bootstrap.build(settings)
    assert container.is_staging
    startup.upgrade_database(settings)
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        for path in ("/", "/more", "/staff/sign-in", "/no-such-page"):
            page = await http.get(path)
            assert words in page.text, path
    await container.stop()
