"""Serve a simulated tenant: ``python -m provisync_workday.simulator --workers 50000``."""

from __future__ import annotations

import argparse

import uvicorn

from provisync_workday.simulator.app import build_simulator_app
from provisync_workday.simulator.tenant import SimulatedTenant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--tenant", default="acme")
    parser.add_argument("--user", default="isu_provisync")
    parser.add_argument("--password", default="workday-secret")
    parser.add_argument("--workers", type=int, default=100, help="synthetic workers to hire")
    args = parser.parse_args()
    tenant = SimulatedTenant(args.tenant, {args.user: args.password})
    tenant.generate(args.workers)
    print(f"simulated tenant {args.tenant!r} with {len(tenant)} workers", flush=True)
    uvicorn.run(build_simulator_app(tenant), host=args.host, port=args.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
