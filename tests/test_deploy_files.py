"""The container files (Dockerfile, Dockerfile.cpu, compose.yaml, .dockerignore) linted without a
container engine: their structure, pins and wiring, and that docs/deploy.md explains them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = ("Dockerfile", "Dockerfile.cpu")
HEALTH_PATHS = ("/healthz", "/readyz")


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, arguments = pending.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, f"{name} ends inside a continued line"
    return result


def args_of(name: str) -> dict[str, str]:
    """Build arguments with their defaults (`ARG NAME=value`)."""
    found = {}
    for keyword, arguments in instructions(name):
        if keyword == "ARG" and "=" in arguments:
            key, _, value = arguments.partition("=")
            found[key] = value.strip().strip('"')
    return found


def base_images(name: str) -> list[str]:
    """The images of the FROM lines (build arguments expanded), stages referenced by name left out."""
    known_args, stages, images = args_of(name), set(), []
    for keyword, arguments in instructions(name):
        if keyword != "FROM":
            continue
        words = [w for w in arguments.split() if not w.startswith("--")]
        image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: known_args[m[1] or m[2]], words[0])
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2])
        if image not in stages:
            images.append(image)
    return images


def last(name: str, keyword: str) -> str:
    found = [arguments for kw, arguments in instructions(name) if kw == keyword]
    assert found, f"{name} has no {keyword}"
    return found[-1]


def runtime(name: str) -> list[tuple[str, str]]:
    """The instructions of the final stage."""
    all_of = instructions(name)
    start = max(i for i, (kw, _) in enumerate(all_of) if kw == "FROM")
    return all_of[start:]


def exec_form(arguments: str) -> list[str]:
    assert arguments.startswith("["), f"not the exec (JSON) form: {arguments}"
    return yaml.safe_load(arguments)


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def documented_settings() -> set[str]:
    return set(re.findall(r"`(GAZO_[A-Z0-9_]+)`", (ROOT / "docs" / "settings.md").read_text()))


def gazo_env_names(text: str) -> set[str]:
    return set(re.findall(r"\b(GAZO_[A-Z0-9_]+[A-Z0-9])\b", text))


@pytest.mark.parametrize("name", DOCKERFILES)
def test_base_images_are_pinned_by_tag(name: str) -> None:
    images = base_images(name)
    assert images, f"{name} has no FROM"
    for image in images:
        reference = image.split("@")[0]
        assert ":" in reference.rsplit("/", 1)[-1], f"{name}: {image} has no tag"
        tag = reference.rsplit(":", 1)[1]
        assert tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"
    assert ":latest" not in (ROOT / name).read_text()


@pytest.mark.parametrize("name", DOCKERFILES)
def test_runs_as_a_non_root_user(name: str) -> None:
    user = [arguments for kw, arguments in runtime(name) if kw == "USER"]
    assert user, f"{name}: the final stage sets no USER"
    who = user[-1].split(":")[0]
    assert who not in ("root", "0"), f"{name} runs as root"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_healthcheck_exposed_port_and_serve_command(name: str) -> None:
    healthcheck = last(name, "HEALTHCHECK")
    assert healthcheck.split()[0] != "NONE"
    assert any(f"127.0.0.1:8000{path}" in healthcheck for path in HEALTH_PATHS), healthcheck
    assert re.search(r"--start-period=\d+", healthcheck), "models load for a while: a start period is needed"
    assert "8000" in last(name, "EXPOSE").split()
    command = exec_form(last(name, "ENTRYPOINT")) + exec_form(last(name, "CMD"))
    assert command[:2] == ["gazo", "serve"], command
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "8000"
    assert "--require-auth" in command, "a server on 0.0.0.0 must demand API keys"
    assert dict(line.split("=", 1) for line in env_lines(name))["GAZO_BILLING__REQUIRE_AUTH"] == "true"
    assert any(kw == "VOLUME" and "/data" in arguments for kw, arguments in runtime(name))


def env_lines(name: str) -> list[str]:
    """`KEY=value` pairs of every ENV of the final stage."""
    pairs: list[str] = []
    for keyword, arguments in runtime(name):
        if keyword == "ENV":
            pairs += [word for word in shlex.split(arguments) if "=" in word]
    return pairs


@pytest.mark.parametrize("name", DOCKERFILES)
def test_pip_installs_pin_torch_and_keep_no_cache(name: str) -> None:
    runs = [arguments for kw, arguments in instructions(name) if kw == "RUN"]
    installs = [part for run in runs for part in re.split(r"&&|;", run) if "pip install" in part]
    assert installs, f"{name} installs nothing"
    for install in installs:
        assert "--no-cache-dir" in install, f"{name}: `{install.strip()}` keeps pip's cache in a layer"
    torch = [install for install in installs if "torch" in install]
    assert torch and all('"torch==2.13.0"' in install or " torch==2.13.0" in install for install in torch)
    first_torch = installs.index(torch[0])
    project_install = re.compile(r"pip install( --\S+)* \.(\s|\[|$)")
    project = [i for i, install in enumerate(installs) if project_install.search(install)]
    assert project and first_torch < project[0], "torch must be installed, pinned, before the project"


def test_cpu_image_takes_torch_from_the_cpu_index_and_proves_it_offline() -> None:
    runs = [arguments for kw, arguments in instructions("Dockerfile.cpu") if kw == "RUN"]
    torch = next(run for run in runs if "torch==2.13.0" in run)
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch
    assert "GAZO_HUB_OFFLINE=true" in env_lines("Dockerfile.cpu")
    assert "HF_HUB_OFFLINE=1" in env_lines("Dockerfile.cpu")
    offline = [run for run in runs if run.startswith("--network=none") and "gazo generate" in run]
    assert offline, "Dockerfile.cpu should render one image with the network off while it builds"


def test_cuda_image_is_a_cuda_build() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "assert torch.version.cuda" in text
    assert "download.pytorch.org/whl/cpu" not in text
    assert "NVIDIA_VISIBLE_DEVICES=all" in env_lines("Dockerfile")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_copies_only_what_the_build_needs(name: str) -> None:
    copied = {
        source
        for kw, arguments in instructions(name)
        if kw in ("COPY", "ADD") and not arguments.startswith("--from")
        for source in arguments.split()[:-1]
    }
    assert not any(kw == "ADD" for kw, _ in instructions(name)), "COPY, not ADD"
    assert copied <= {"pyproject.toml", "README.md", "src"}, copied
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert not any(line.startswith("!") for line in ignored)
    for path in (".git", ".venv", "tests", "test-artifacts", ".env"):
        assert path in ignored, f".dockerignore should leave out {path}"
    for needed in ("src", "pyproject.toml", "README.md"):
        assert needed not in ignored, f".dockerignore leaves out {needed}, which the build copies"


def test_compose_services_and_healthchecks() -> None:
    services = compose()["services"]
    assert set(services) >= {"gazo", "postgres", "redis"}
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        image = service.get("image", "")
        assert image and ":" in image and not image.endswith(":latest"), f"{name}: image {image!r} not pinned"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    gazo = services["gazo"]
    assert any(path in " ".join(gazo["healthcheck"]["test"]) for path in HEALTH_PATHS)
    assert gazo["build"]["dockerfile"] in DOCKERFILES
    assert gazo["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert gazo["command"][:4] == ["serve", "--host", "0.0.0.0", "--port"]
    assert "--require-auth" in gazo["command"]
    grace = re.fullmatch(r"(\d+)s", gazo["stop_grace_period"])
    assert grace and int(grace[1]) > 25, "above server.shutdown_grace_s, or requests are killed mid-flight"
    assert any(port.endswith(":8000") for port in gazo["ports"])


def test_compose_wires_gazo_to_postgres_redis_and_its_volume() -> None:
    document = compose()
    services, environment = document["services"], document["services"]["gazo"]["environment"]
    postgres = services["postgres"]["environment"]
    database = environment["GAZO_DATABASE_URL"]
    assert re.fullmatch(r"postgres(ql)?://[^@]+@postgres:5432/[\w${}:-]+", database), database
    assert database.startswith(f"postgresql://{postgres['POSTGRES_USER']}:")
    assert database.endswith(f"/{postgres['POSTGRES_DB']}")
    assert re.search(r"\$\{POSTGRES_PASSWORD[:}-]", database), "one password for both services"
    assert "POSTGRES_PASSWORD" in postgres["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"redis://redis:6379(/\d+)?", environment["GAZO_REDIS_URL"])
    assert environment["GAZO_BILLING__REQUIRE_AUTH"] == "true"
    data_dir = environment["GAZO_DATA_DIR"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in services["gazo"]["volumes"]}
    assert data_dir in mounts and mounts[data_dir] in document["volumes"], "the data dir needs a named volume"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])


def test_every_gazo_variable_is_a_real_setting_and_documented_for_deployers() -> None:
    used = set()
    for name in (*DOCKERFILES, "compose.yaml"):
        used |= gazo_env_names((ROOT / name).read_text())
    assert used >= {"GAZO_DATA_DIR", "GAZO_DATABASE_URL", "GAZO_REDIS_URL", "GAZO_BILLING__REQUIRE_AUTH"}
    unknown = used - documented_settings() - {"GAZO_PORT"}  # GAZO_PORT: compose's host port, not a setting
    assert not unknown, f"not gazo settings (see docs/settings.md): {sorted(unknown)}"
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    undocumented = {name for name in used if f"`{name}`" not in deploy}
    assert not undocumented, f"docs/deploy.md does not explain {sorted(undocumented)}"
    for phrase in (
        "docker compose exec gazo gazo keys create --name admin --admin",
        "--require-auth",
        "Dockerfile.cpu",
        "--gpus",
    ):
        assert phrase in deploy, f"docs/deploy.md should mention {phrase!r}"


def test_the_commands_the_files_run_exist() -> None:
    from gazo.cli.keys import create
    from gazo.cli.serve import serve

    serve_options = {opt for param in serve.params for opt in param.opts}
    assert {"--host", "--port", "--require-auth", "--config"} <= serve_options
    assert {"--name", "--admin"} <= {opt for param in create.params for opt in param.opts}
