"""GET /api/version/ as Label Studio 1.23.2 prints it, with Labelgraph's values."""
from __future__ import annotations

from core.system import ServerVersion


def version(info: ServerVersion) -> dict:
    """Label Studio's keys and nesting, in its order, then the spec's `lsf` and `backend`. Labelgraph
    serves no frontend bundle: the frontend entries carry empty build details."""
    no_frontend = {"message": "", "commit": "", "date": "", "branch": ""}
    return {
        "release": info.api_release,
        "label-studio-os-package": {
            "version": info.api_release,
            "short_version": ".".join(info.api_release.split(".")[:2]),
            # Label Studio asks PyPI for the latest release; Labelgraph makes no such call.
            "latest_version_from_pypi": info.api_release,
            "latest_version_upload_time": None,
            "current_version_is_outdated": False,
        },
        "label-studio-os-backend": {
            "message": f"Labelgraph {info.package_version}".strip(),
            "commit": info.commit,
            "date": "",
            "branch": info.branch,
            "version": info.package_version,
        },
        "label-studio-frontend": dict(no_frontend),
        "dm2": dict(no_frontend),
        # Exports are converted by Labelgraph itself (core.exports), not by the converter package.
        "label-studio-converter": {"version": info.package_version},
        "edition": "Community",
        "lsf": dict(no_frontend),
        "backend": {"name": "labelgraph", "version": info.package_version, "commit": info.commit},
    }
