"""The KFP side of knowledge mixing: the command line (run, compile, submit), the settings it
reads, local running, submit, plug-in resolution and cluster settings. It may import kfp;
compiling needs only kfp and kfp-kubernetes."""
import os
import sys


def import_kfp_without_its_client() -> None:
    """For the command line, before anything imports kfp: `import kfp` also imports its REST
    client (kfp.client, and with it the kubernetes and requests packages: 0.3 - 0.5 s of every
    command) unless `_KFP_RUNTIME` is "true", the flag KFP's own task command sets in every pod
    (kfp/__init__.py). Only `submit` needs the client, and imports it by name; kfp.dsl and
    kfp.components are imported in full when first named. (The `kfp` module then has no
    `Client` attribute: code that uses it imports kfp.client.)"""
    if "kfp" in sys.modules:
        return
    before = os.environ.get("_KFP_RUNTIME")
    os.environ["_KFP_RUNTIME"] = "true"
    try:
        import kfp  # noqa: F401
    finally:
        if before is None:
            del os.environ["_KFP_RUNTIME"]
        else:
            os.environ["_KFP_RUNTIME"] = before
