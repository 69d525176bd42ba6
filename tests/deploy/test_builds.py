"""What the local provider builds: Python apps (requirements.txt or pyproject.toml, Procfile or
wsgi.py), Node.js apps (package.json) and static sites; anything else is refused with a message
saying what is missing. Node.js builds themselves: test_node_apps.py."""

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import Build
from apps.deploy.runtime.base import BuildRefused
from apps.deploy.runtime.builders import BUILDERS, detect
from apps.deploy.runtime.builders.base import parse_procfile
from apps.deploy.runtime.builders.python import DEFAULT_WEB


def test_procfile_parsing():
    entries = parse_procfile("# comment\nweb: gunicorn app:app\n\nrelease: ./migrate\n")
    assert entries == {"web": "gunicorn app:app", "release": "./migrate"}
    for bad in ("web gunicorn", "Web: x", "web:", "web: a\nweb: b"):
        with pytest.raises(BuildRefused):
            parse_procfile(bad)


@pytest.mark.parametrize(
    "files, outcome",
    [
        ({"requirements.txt": "", "Procfile": "web: x"}, "python"),
        ({"pyproject.toml": "[project]\nname='x'", "wsgi.py": ""}, "python"),
        ({"index.html": "<h1>hi</h1>"}, "static"),
        ({"requirements.txt": ""}, "no Procfile"),
        ({"Procfile": "web: node server.js", "package.json": "{}"}, "node"),
        ({"package.json": "{}"}, "node"),
        ({"package.json": "{}", "index.html": ""}, "node"),
        # Both: Python wins (a Django project with a package.json for its front-end tools).
        ({"package.json": "{}", "requirements.txt": "", "Procfile": "web: x"}, "python"),
        ({"package.json": "{}", "pyproject.toml": "", "wsgi.py": ""}, "python"),
        # Not quite a Python app (no Procfile, no wsgi.py): its package.json makes it Node.
        ({"package.json": "{}", "requirements.txt": ""}, "node"),
        ({"Procfile": "web: ./serve"}, "There is a Procfile but nothing that says how to build"),
        ({"main.go": "package main"}, "none of them"),
    ],
)
def test_detection(tmp_path, files, outcome):
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    if outcome in ("python", "node", "static"):
        assert detect(str(tmp_path)) == outcome
    else:
        with pytest.raises(BuildRefused, match=outcome):
            detect(str(tmp_path))


def test_an_unknown_tree_is_refused_naming_what_each_builder_needs(tmp_path):
    (tmp_path / "main.go").write_text("package main\n")
    with pytest.raises(BuildRefused) as refused:
        detect(str(tmp_path))
    assert refused.value.message == (
        "Quayside can build a Python app (requirements.txt or pyproject.toml, plus a Procfile or "
        "a wsgi.py), a Node.js app (package.json) or a static site (an index.html at the top of "
        "the repository); this repository is none of them."
    )
    assert [builder.kind for builder in BUILDERS] == ["python", "node", "static"]


@pytest.mark.runtime
@pytest.mark.django_db
def test_a_static_site_is_served_by_caddy(deployer, git_repo, runtime):
    git_repo.commit(
        {
            "index.html": "<h1>static v1</h1>\n",
            "app.py": None,
            "Procfile": None,
            "requirements.txt": None,
            "VERSION": None,
        }
    )
    app = deployer.create(git_repo)
    deployment = deployer.deploy(app)
    assert deployment.state == "live", deployment.failure_reason
    host = deployer.hostname(app)
    assert "static v1" in runtime.get(host).text
    git_repo.commit({"index.html": "<h1>static v2</h1>\n"})
    assert deployer.deploy(app).state == "live"
    assert "static v2" in runtime.get(host).text
    assert runtime.get(host, "/missing.html").status_code == 404


@pytest.mark.runtime
@pytest.mark.django_db
def test_unbuildable_repositories_fail_with_a_clear_reason(deployer, git_repo, runtime):
    git_repo.commit({"Procfile": None, "app.py": None, "requirements.txt": None})
    app = deployer.create(git_repo)
    deployment = deployer.deploy(app)
    assert deployment.state == "failed" and deployment.failure_step == "building"
    assert "Quayside can build a Python app" in deployment.failure_reason
    with tenant_context(deployer.tenant):
        assert Build.objects.get(pk=deployment.build_id).status == "failed"


@pytest.mark.runtime
@pytest.mark.django_db
def test_a_pyproject_app_with_only_a_wsgi_module_gets_the_default_web_command(
    deployer, git_repo, runtime
):
    wsgi = "def application(environ, start_response):\n" + (
        "    start_response('200 OK', [])\n    return [b'from wsgi.py']\n"
    )
    git_repo.commit(
        {
            "Procfile": None,
            "requirements.txt": None,
            "pyproject.toml": '[project]\nname = "demo"\nversion = "1"\n'
            'dependencies = ["gunicorn>=23,<28"]\n',
            "wsgi.py": wsgi,
        }
    )
    app = deployer.create(git_repo, health_check_path="/")
    deployment = deployer.deploy(app)
    assert deployment.state == "live", deployment.failure_reason
    with tenant_context(deployer.tenant):
        assert Build.objects.get(pk=deployment.build_id).process_types == {"web": DEFAULT_WEB}
    assert runtime.get(deployer.hostname(app)).text == "from wsgi.py"


@pytest.mark.runtime
@pytest.mark.django_db
def test_a_missing_ref_fails_the_fetch(deployer, git_repo, runtime):
    app = deployer.create(git_repo)
    deployment = deployer.deploy(app, ref="no-such-branch")
    assert deployment.state == "failed" and deployment.failure_step == "fetching"
    assert "no-such-branch" in deployment.failure_reason
