"""Creating a run on a Data Science Pipelines server: the token, a quick check of the server,
then the run of the freshly compiled pipeline."""
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import warnings
from typing import Callable, Optional

from knowledge_mixing.errors import ParameterError, SubmitError

from .compile import compile_pipeline


def check_host(host: str) -> None:
    """The route as a URL with its scheme, before anything is compiled or sent."""
    parts = urllib.parse.urlparse(host)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ParameterError(f"--host {host!r}: give the Data Science Pipelines route as a URL "
                             "with its scheme, e.g. https://ds-pipeline-dspa-PROJECT.apps.CLUSTER")


def bearer_token(explicit: Optional[str]) -> str:
    """--token, else KFP_TOKEN, else the logged-in `oc` user's token."""
    if explicit:
        return explicit
    if os.environ.get("KFP_TOKEN"):
        return os.environ["KFP_TOKEN"]
    if shutil.which("oc"):
        result = subprocess.run(["oc", "whoami", "-t"], capture_output=True, text=True,
                                timeout=30)
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()
    raise SubmitError("no token: pass --token, set KFP_TOKEN, or log in with `oc login` so that "
                      "`oc whoami -t` prints one")


def check_server(host: str, token: str) -> None:
    """One quick authenticated request, so a wrong host or token fails at once and says which
    (the KFP client itself retries for half a minute and reports a 401 as a health problem)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{host}/apis/v2beta1/healthz",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=15):
            return
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            raise SubmitError(f"{host} refused the token (HTTP {e.code}); get a fresh one with "
                              "`oc whoami -t` or check your access to the project") from e
        raise SubmitError(f"{host} answered HTTP {e.code} to the health check; is it the Data "
                          "Science Pipelines route?") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise SubmitError(f"cannot reach the pipelines server at {host} ({e}); pass the Data "
                          "Science Pipelines route as --host (https://ds-pipeline-...)") from e


def submit_run(host: str, token: str, package_path: str, arguments: dict, experiment: str,
               run_name: str, enable_caching: Optional[bool]) -> str:
    """Create a run of the compiled pipeline; return its URL in the Data Science Pipelines UI.
    `enable_caching`: False turns caching off for every task; None keeps the compiled choice
    (True would also cache the training and generation tasks, which must run again)."""
    from kfp.client import Client
    from kfp_server_api.exceptions import ApiException

    host = host.rstrip("/")
    check_server(host, token)
    warnings.filterwarnings("ignore", message="This client only works with Kubeflow Pipeline")
    try:
        client = Client(host=host, existing_token=token)
        run = client.create_run_from_pipeline_package(
            package_path, arguments=arguments, run_name=run_name, experiment_name=experiment,
            enable_caching=enable_caching)
    except ApiException as e:
        raise SubmitError(f"{host} answered HTTP {e.status} ({e.reason}): {e.body}") from e
    return f"{host}/#/runs/details/{run.run_id}"


def submit(pipeline, arguments: dict, host: str, token: Optional[str], image: str,
           experiment: str, run_name: str, enable_caching: Optional[bool],
           describe: Callable[[str], None]) -> str:
    """Compile `pipeline` (`describe` says what the compiled file holds) and create a run of it
    with `arguments`; a required parameter without a value is named (as the flag that gives it)
    before anything is sent."""
    missing = [name for name, value in arguments.items() if value is None]
    if missing:
        raise ParameterError("give " + ", ".join(
            f"--{m.replace('_', '-')}" if m in ("step03_uri", "tokenizer_uri", "seed_data_uri")
            else f"--param {m}=URI"
            for m in missing))
    token = bearer_token(token)
    with tempfile.TemporaryDirectory() as folder:
        package = os.path.join(folder, "pipeline.yaml")
        compile_pipeline(pipeline, package, image)
        describe(package)
        run_name = run_name or f"{pipeline.name} {time.strftime('%Y-%m-%d %H-%M-%S')}"
        return submit_run(host, token, package, arguments, experiment, run_name, enable_caching)
