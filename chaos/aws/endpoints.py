"""The clients' path of a region drill: the failover name resolves, and each region's endpoint answers.

A region drill is only about failover if its load goes where clients go: the Route 53 failover record
or custom domain (`failover_url`), not one region's execute-api URL (which can only recover by reverting
the fault). Before the first fault, preflight resolves that name, asks it and each regional endpoint
for `/health`, and checks each region answers for itself (`region` in the body, as the service's health
handler reports it) and that the clients are on the primary now. DNS and HTTP are injectable so tests
never leave the machine.
"""

from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from chaos.targets import AwsTarget

HEALTH_PATH = "/health"
TIMEOUT_S = 5.0

Resolver = Callable[[str], list[str]]  # host -> addresses
Fetcher = Callable[[str, float], tuple[int, bytes]]  # url, timeout -> (status, body)


def resolve(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)})


def fetch(url: str, timeout_s: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "hanbit-drill preflight"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=ssl.create_default_context()) as answer:
            return answer.status, answer.read(65536)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(65536)


@dataclass(frozen=True)
class Answer:
    status: int
    region: str | None  # what the endpoint says it is (None: it did not say)


class EndpointProbe:
    def __init__(self, resolver: Resolver = resolve, fetcher: Fetcher = fetch) -> None:
        self.resolver = resolver
        self.fetcher = fetcher

    def health(self, base_url: str) -> Answer:
        status, body = self.fetcher(base_url.rstrip("/") + HEALTH_PATH, TIMEOUT_S)
        try:
            region = json.loads(body).get("region")
        except (ValueError, AttributeError):
            region = None
        return Answer(status, str(region) if region else None)

    def problems(self, target: AwsTarget) -> list[str]:
        """Why the region drill's load would not take, or could not follow, the clients' path."""
        if not target.failover_url:
            return [
                "region drill: the target has no failover_url (the Route 53 failover record or custom domain "
                "clients use); the load would go to the regional api_url, which can only recover by reverting "
                "the fault, so the drill would measure nothing about failover"
            ]
        problems = []
        host = urlsplit(target.failover_url).hostname or ""
        try:
            addresses = self.resolver(host)
        except OSError as exc:
            return [f"failover_url {target.failover_url}: {host} does not resolve ({exc})"]
        if not addresses:
            return [f"failover_url {target.failover_url}: {host} resolves to no address"]
        if target.secondary_region and not target.secondary_api_url:
            problems.append(
                f"the target has no secondary_api_url: preflight cannot check that {target.secondary_region} "
                f"answers before the drill fails over to it"
            )
        for region, url in target.regional_urls.items():
            problems += self._regional(region, url)
        problems += self._clients_path(target)
        return problems

    def _regional(self, region: str, url: str) -> list[str]:
        try:
            answer = self.health(url)
        except OSError as exc:
            return [f"the {region} endpoint {url} does not answer {HEALTH_PATH}: {exc}"]
        if answer.status != 200:
            return [f"the {region} endpoint {url} answers {HEALTH_PATH} with HTTP {answer.status}"]
        if answer.region is not None and answer.region != region:
            return [f"the {region} endpoint {url} says it is {answer.region}: regional URLs swapped?"]
        return []

    def _clients_path(self, target: AwsTarget) -> list[str]:
        url = target.failover_url or ""
        try:
            answer = self.health(url)
        except OSError as exc:
            return [f"failover_url {url} does not answer {HEALTH_PATH}: {exc}"]
        if answer.status != 200:
            return [f"failover_url {url} answers {HEALTH_PATH} with HTTP {answer.status}"]
        if answer.region is not None and answer.region != target.region:
            return [
                f"failover_url {url} is served by {answer.region}, not the primary {target.region}: traffic is "
                f"already failed over; fail back before the drill"
            ]
        return []
