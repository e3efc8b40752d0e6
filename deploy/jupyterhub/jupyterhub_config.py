"""JupyterHub for the backprop course on one server: real Unix users, nbgrader's exchange.

Made ready by ``setup_course.py`` (run it first, as root), which writes the course's settings
to ``<prefix>/hub/course.json``; start the hub as root with

    BP_HUB_SETTINGS=/srv/backprop-course/hub/course.json \\
        /path/to/venv/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Every learner and the instructor log in with their Unix account (PAM) and get a server running
as themselves (``LocalProcessSpawner``; ``SimpleLocalProcessSpawner`` would run everyone as one
user, and nbgrader would file every submission under that name). Learners' servers show the
Assignments tab (fetch, submit, fetch feedback); the instructor's server starts in the course
folder with the Formgrader. With ``BP_HUB_API_TOKEN`` set, a ``course-admin`` service holds that
token, for scripts that manage users and servers through the hub's REST API.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

settings = json.loads(
    Path(os.environ.get("BP_HUB_SETTINGS", "/srv/backprop-course/hub/course.json")).read_text()
)
state = Path(settings["hub_state"])
venv_bin = Path(settings["python"]).parent

c.JupyterHub.bind_url = settings["bind_url"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(settings["hub_port"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(settings['proxy_api_port'])}"
c.ConfigurableHTTPProxy.command = [shutil.which("configurable-http-proxy")
                                   or "configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")

c.Authenticator.allowed_users = {settings["instructor"], *settings["learners"]}
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(venv_bin / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 120  # a loaded machine starts JupyterLab slowly
c.Spawner.http_timeout = 120
c.Spawner.environment = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin"}


def _per_user(spawner) -> None:  # noqa: ANN001 (a Spawner)
    """The instructor's server starts in the course folder with the Formgrader; a learner's in
    their home, with only the Assignments tab. Each reads nbgrader's exchange settings from its
    own configuration folder."""
    role = "instructor" if spawner.user.name == settings["instructor"] else "learner"
    spawner.environment["JUPYTER_CONFIG_PATH"] = str(Path(settings["jupyter_config"]) / role)
    if role == "instructor":
        spawner.notebook_dir = settings["course_root"]


c.Spawner.pre_spawn_hook = _per_user

if os.environ.get("BP_HUB_API_TOKEN"):
    c.JupyterHub.services = [{"name": "course-admin", "api_token": os.environ["BP_HUB_API_TOKEN"]}]
    c.JupyterHub.load_roles = [{
        "name": "course-admin",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:users"],
        "services": ["course-admin"],
    }]
