"""One region's service server, as the supervisor starts it: `python -m service.regions.region_server`.

The region's settings come from the environment (`service.settings.ENV_VAR`), and the
control state its workers follow from `CONTROL_STATE_ENV`.
"""

from __future__ import annotations

import sys

from service.control.worker_control import CONTROL_STATE_ENV  # noqa: F401  (the supervisor sets it)


def main() -> int:
    from service.errors import run_entry
    from service.server import ServiceServer
    from service.settings import ServiceSettings

    return run_entry(lambda: ServiceServer(ServiceSettings.from_env()).run(), name="hanbit-drill: region server")


if __name__ == "__main__":
    sys.exit(main())
