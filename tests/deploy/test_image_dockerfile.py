"""Dockerfiles for in-cluster builds: the repository's own when it has one, else one written by
the language builder (Python, Node.js, static), checked: FROM first, non-root numeric USER, no
ADD, CMD in exec form, the Procfile's process types as a label, base images from settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from apps.deploy.runtime.base import BuildRefused
from apps.deploy.runtime.images.dockerfile import check, dockerfile_for, instructions


def _tree(tmp_path: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return str(tmp_path)


def _label(text: str) -> dict:
    for keyword, args in instructions(text):
        if keyword == "LABEL" and args.startswith("io.quayside.process-types="):
            value = args.split("=", 1)[1].split(" io.quayside.release-command=")[0]
            return json.loads(json.loads(value))
    raise AssertionError("no process-types label")


def _cmd(text: str) -> list[str]:
    return json.loads(next(args for keyword, args in instructions(text) if keyword == "CMD"))


def test_python_with_a_procfile(tmp_path, settings):
    settings.DEPLOY_IMAGE_BASE_PYTHON = "python:3.11-slim"
    source = _tree(tmp_path, {
        "requirements.txt": "gunicorn\n",
        "Procfile": "web: gunicorn --bind unix:$QUAYSIDE_SOCKET app:app\n"
                    "worker: python worker.py\nrelease: python manage.py migrate\n",
    })  # fmt: skip
    result = dockerfile_for(source)
    assert result.origin == "python" and result.generated
    assert check(result.text) == []
    steps = instructions(result.text)
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert ("USER", "10001:10001") in steps
    assert ("RUN", '["pip", "install", "-r", "/app/requirements.txt"]') in steps
    assert _label(result.text) == {
        "web": "gunicorn --bind 0.0.0.0:$PORT app:app",
        "worker": "python worker.py",
    }
    assert 'io.quayside.release-command="python manage.py migrate"' in result.text
    assert _cmd(result.text) == ["/bin/sh", "-c", "exec gunicorn --bind 0.0.0.0:$PORT app:app"]
    assert 'PORT="8080"' in result.text and "EXPOSE 8080" in result.text


def test_python_pyproject_and_wsgi_get_the_default_web(tmp_path, settings):
    settings.DEPLOY_IMAGE_BASE_PYTHON = "registry.example.com/python:3.12-slim"
    source = _tree(tmp_path, {
        "pyproject.toml": '[project]\nname="x"\n'
                          'dependencies=["gunicorn>=23", "flask; python_version>\'3\'"]\n',
        "wsgi.py": "application = None\n",
    })  # fmt: skip
    text = dockerfile_for(source).text
    assert check(text) == []
    assert instructions(text)[0] == ("FROM", "registry.example.com/python:3.12-slim")
    run = next(json.loads(a) for k, a in instructions(text) if k == "RUN")
    assert run == [
        "pip",
        "install",
        "gunicorn>=23",
        "flask; python_version>'3'",
    ]  # one argument each
    assert _label(text)["web"].startswith("gunicorn --bind 0.0.0.0:$PORT")


def test_node(tmp_path, settings):
    settings.DEPLOY_IMAGE_BASE_NODE = "node:24-slim"
    source = _tree(tmp_path, {
        "package.json": json.dumps({"scripts": {"start": "node server.js", "build": "tsc"},
                                    "devDependencies": {"typescript": "5"}}),
        "package-lock.json": "{}",
    })  # fmt: skip
    result = dockerfile_for(source)
    assert result.origin == "node" and check(result.text) == []
    runs = [json.loads(a) for k, a in instructions(result.text) if k == "RUN"]
    assert runs == [
        ["npm", "ci", "--include=dev", "--no-audit", "--no-fund"],
        ["npm", "run", "build"],
        ["npm", "prune", "--omit=dev", "--no-audit", "--no-fund"],
    ]
    assert ("COPY", '["package.json", "package-lock.json", "/app/"]') in instructions(result.text)
    assert instructions(result.text)[0] == ("FROM", "node:24-slim")
    assert _label(result.text) == {"web": "npm start"}
    assert 'NODE_ENV="production"' in result.text


def test_static(tmp_path, settings):
    settings.DEPLOY_IMAGE_BASE_STATIC = "nginxinc/nginx-unprivileged:1.27-alpine"
    result = dockerfile_for(_tree(tmp_path, {"index.html": "<h1>hi</h1>"}))
    assert result.origin == "static" and check(result.text) == []
    steps = instructions(result.text)
    assert steps[0] == ("FROM", "nginxinc/nginx-unprivileged:1.27-alpine")
    assert ("USER", "101:101") in steps
    assert ("RUN", '["rm", "-rf", "/usr/share/nginx/html/.git"]') in steps


def test_static_refuses_symlinks(tmp_path):
    source = _tree(tmp_path, {"index.html": "x"})
    os.symlink("/etc/passwd", tmp_path / "passwd")
    with pytest.raises(BuildRefused, match="symlinks"):
        dockerfile_for(source)


def test_the_repositorys_own_dockerfile_wins(tmp_path):
    source = _tree(tmp_path, {"Dockerfile": "FROM scratch\n", "index.html": "x"})
    result = dockerfile_for(source)
    assert result.origin == "repository" and not result.generated and result.text == ""


def test_a_tree_no_builder_takes_is_refused(tmp_path):
    with pytest.raises(BuildRefused):
        dockerfile_for(_tree(tmp_path, {"README": "x"}))


def test_a_procfile_command_cannot_add_instructions(tmp_path):
    source = _tree(tmp_path, {
        "requirements.txt": "x\n",
        "Procfile": 'web: run" ]\\\nUSER root\n',
    })  # fmt: skip
    with pytest.raises(BuildRefused):  # `USER root` is not a Procfile line
        dockerfile_for(source)
    source = _tree(tmp_path, {"Procfile": 'web: sh -c "echo \\"]; USER 0"\n'})
    text = dockerfile_for(source).text
    assert check(text) == [] and [a for k, a in instructions(text) if k == "USER"] == [
        "10001:10001"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('USER 1000\nFROM x\nCMD ["a"]', "first instruction is not FROM"),
        ('FROM x\nCMD ["a"]', "no USER"),
        ("FROM x\nUSER root\n", "not a numeric non-root"),
        ("FROM x\nUSER 0:0\n", "not a numeric non-root"),
        ("FROM x\nADD http://example.com/x /x\nUSER 1000", "ADD http"),
        ("FROM x\nUSER 1000\nCMD gunicorn app", "not in exec form"),
    ],
)
def test_check_finds(text, problem):
    assert any(problem in p for p in check(text))
