"""deploy/: the systemd units, the nginx site and the environment file README's "Deployment"
installs. They parse, run real commands of the bot, pass `systemd-analyze verify` and `nginx -t`
where those tools exist, and name the same paths and ports as README."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bot.__main__ import parse_args
from bot.channels.whatsapp.transport import BODY_LIMIT
from bot.channels.whatsapp.transport import WEBHOOK_PATH as WHATSAPP_PATH
from bot.config import Settings, load_settings
from tests.e2e import ROOT

DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
NGINX_SITE = DEPLOY / "nginx" / "mektep-bot.conf"
ENV_EXAMPLE = DEPLOY / "env.example"
VENV_PYTHON = "/opt/mektep-bot/.venv/bin/python"
SERVICES = sorted(SYSTEMD.glob("*.service"))
Unit = dict[str, dict[str, list[str]]]


def readme() -> str:
    return (ROOT / "README.md").read_text()


def parse_unit(path: Path) -> Unit:
    """systemd's ini dialect: sections, `Key=value` (a key may repeat), # and ; comments."""
    sections: Unit = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().replace("\\\n", " ").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep and key.strip().isalnum(), f"{path.name}: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(unit: Unit, section: str, key: str) -> str:
    values = unit.get(section, {}).get(key, [])
    assert len(values) == 1, f"[{section}] {key}= should be set once, found {values}"
    return values[0]


def bot_command(unit: Unit) -> list[str]:
    """ExecStart's arguments after `<venv python> -m bot`, checked against the real CLI."""
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    assert argv[:3] == [VENV_PYTHON, "-m", "bot"], argv
    parse_args(argv[3:])  # argparse exits on an unknown command or option
    return argv[3:]


def nginx_locations(text: str) -> dict[str, str]:
    pattern = r"location\s+(?P<path>(?:(?:=|\^~)\s*)?\S+)\s*\{(?P<body>[^}]*)\}"
    return {m["path"]: m["body"] for m in re.finditer(pattern, text)}


def upstream_ports(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"^\s*server\s+127\.0\.0\.1:(\d+);", text, re.M)]


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_every_service_runs_the_bot_from_its_venv_as_the_bot_user(path):
    unit = parse_unit(path)
    assert one(unit, "Unit", "Description")
    assert one(unit, "Service", "User") == "mektep-bot"
    assert one(unit, "Service", "WorkingDirectory") == "/opt/mektep-bot"
    assert one(unit, "Service", "EnvironmentFile") == "/etc/mektep-bot/env"
    assert one(unit, "Service", "ProtectSystem") == "strict"
    # The only writable places under ProtectSystem=strict: the database file and backups.
    assert one(unit, "Service", "StateDirectory") == "mektep-bot"
    assert one(unit, "Service", "UMask") == "0077"
    bot_command(unit)


def test_the_instance_unit_restarts_and_listens_on_its_instance_port():
    unit = parse_unit(SYSTEMD / "mektep-bot@.service")
    assert bot_command(unit) == ["run"]
    assert one(unit, "Service", "Restart") in ("always", "on-failure")
    assert "WEBHOOK_PORT=%i" in unit["Service"]["Environment"]
    assert "mektep-bot-migrate.service" in one(unit, "Unit", "After").split()
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_the_migrate_unit_runs_once():
    unit = parse_unit(SYSTEMD / "mektep-bot-migrate.service")
    assert bot_command(unit) == ["migrate"]
    assert one(unit, "Service", "Type") == "oneshot"


def test_the_backup_timer_starts_the_rotating_backup_nightly():
    timer = parse_unit(SYSTEMD / "mektep-bot-backup.timer")
    assert one(timer, "Timer", "OnCalendar") == "*-*-* 03:30:00 Asia/Almaty"
    assert one(timer, "Timer", "Persistent") == "true"
    assert one(timer, "Install", "WantedBy") == "timers.target"
    service = parse_unit(SYSTEMD / "mektep-bot-backup.service")  # the timer's by its name
    assert one(service, "Service", "Type") == "oneshot"
    args = parse_args(bot_command(service))
    assert args.command == "backup-rotate"
    assert args.folder == "/var/lib/mektep-bot/backups"  # inside StateDirectory: writable
    assert (args.keep_daily, args.keep_weekly) == (7, 8)


def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart's program exists: this venv's python stands in for
    # /opt/mektep-bot's; everything else is verified as written.
    for path in SYSTEMD.iterdir():
        (tmp_path / path.name).write_text(path.read_text().replace(VENV_PYTHON, sys.executable))
    result = subprocess.run([tool, "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def _self_signed_certificate(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("nginx -t needs a certificate and openssl is not installed to make one")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=bot.example.kz", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_nginx_accepts_the_site(tmp_path):
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed: `nginx -t` of deploy/nginx/mektep-bot.conf not run")
    cert, key = _self_signed_certificate(tmp_path)
    site = NGINX_SITE.read_text()
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    (tmp_path / "site.conf").write_text(site)
    temp_paths = " ".join(f"{kind}_temp_path {tmp_path}/{kind};"
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; {temp_paths} include {tmp_path}/site.conf; }}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                             "-e", str(tmp_path / "error.log")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "[warn]" not in result.stderr, result.stderr


def test_nginx_passes_only_the_webhook_to_the_instances():
    locations = nginx_locations(NGINX_SITE.read_text())
    assert set(locations) == {"= /tg/webhook", f"= {WHATSAPP_PATH}", "^~ /v/", "/"}
    assert "proxy_pass http://mektep_bot;" in locations["= /tg/webhook"]
    # the verification page: the client's address for its per-address limit
    assert "proxy_set_header X-Real-IP $remote_addr;" in locations["^~ /v/"]
    assert "return 404;" in locations["/"]  # /healthz, /metrics and all else stay internal


def test_nginx_passes_whatsapps_webhook_as_the_bot_serves_it():
    """The path the bot serves (bot/channels/whatsapp/transport.py), the body as large as
    the bot reads, and nothing that would change the signed body or drop
    X-Hub-Signature-256 (a header nginx passes unless told otherwise)."""
    location = nginx_locations(NGINX_SITE.read_text())[f"= {WHATSAPP_PATH}"]
    assert "proxy_pass http://mektep_bot;" in location
    size = re.search(r"client_max_body_size (\d+)m;", location)
    assert size and int(size[1]) * 1024 * 1024 == BODY_LIMIT
    for changes in ("proxy_pass_request_headers off", "proxy_pass_request_body off",
                    "proxy_set_body", "X-Hub-Signature-256", "underscores_in_headers",
                    "ignore_invalid_headers", "sub_filter", "gzip"):
        assert changes not in location, changes
    assert "underscores_in_headers" not in NGINX_SITE.read_text()
    text = readme()
    assert f"https://bot.example.kz{WHATSAPP_PATH}" in text


def test_readme_names_the_same_paths_ports_and_schedule_as_the_files():
    text, site = readme(), NGINX_SITE.read_text()
    ports = upstream_ports(site)
    assert ports == [8081, 8082, 8083]
    enable = re.search(r"systemctl enable --now (.+)", text)
    assert enable, "README shows how to start the instances"
    assert [int(p) for p in re.findall(r"mektep-bot@(\d+)", enable[1])] == ports
    assert {int(p) for p in re.findall(r"mektep-bot@(\d+)", text)} <= set(ports)
    assert f"127.0.0.1:{ports[0]}–{ports[-1]}" in text

    (location,) = (p.removeprefix("= ") for p in nginx_locations(site)
                   if p.startswith("=") and p != f"= {WHATSAPP_PATH}")
    readme_urls = re.findall(r"`WEBHOOK_URL` \| `(https://[^`]+)`", text)
    env_url = re.search(r"^WEBHOOK_URL=(\S+)", ENV_EXAMPLE.read_text(), re.M)
    assert readme_urls and env_url
    assert {urlparse(u).path for u in [*readme_urls, env_url[1]]} == {location}
    assert "server_name bot.example.kz;" in site and urlparse(env_url[1]).hostname == (
        "bot.example.kz")

    for needle in ("/opt/mektep-bot", "/etc/mektep-bot/env", "/var/lib/mektep-bot/backups",
                   "03:30 Asia/Almaty", "--keep-daily 7 --keep-weekly 8", "mektep-bot` user"):
        assert needle in text, needle


def test_readme_points_at_every_deploy_file_and_only_at_files_that_exist():
    text = readme()
    for path in [*SYSTEMD.iterdir(), NGINX_SITE, ENV_EXAMPLE]:
        assert path.name in text, f"README does not mention {path.relative_to(ROOT)}"
    for named in set(re.findall(r"deploy/[\w./@-]*[\w@]", text)):
        assert (ROOT / named).exists(), f"README names {named}, which does not exist"


def _env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines()
                if line and not line.startswith("#"))


def test_the_environment_example_is_a_valid_configuration_once_its_secrets_are_filled(
        tmp_path, monkeypatch):
    variables = _env_lines(ENV_EXAMPLE.read_text())
    assert {v.lower() for v in variables} <= set(Settings.model_fields)
    assert "WEBHOOK_PORT" not in variables  # it would win over each instance's port
    assert variables["BOT_TOKEN"] == variables["WEBHOOK_SECRET"] == ""  # no sample secrets
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    filled = ENV_EXAMPLE.read_text().replace(
        "BOT_TOKEN=\n", "BOT_TOKEN=123456789:AAE2eTestTokenForTheDeployExample\n").replace(
        "WEBHOOK_SECRET=\n", "WEBHOOK_SECRET=" + "s" * 40 + "\n")
    (tmp_path / "env").write_text(filled)
    settings = load_settings(_env_file=tmp_path / "env")
    assert settings.webhook_url == "https://bot.example.kz/tg/webhook"
    assert settings.database_url.startswith("postgresql+asyncpg://")
