"""What `locust -f` loads. It sits alone in its directory because Locust puts a locustfile's directory
first on sys.path, and `loadtests/` is full of generic module names."""

from loadtests.locustfile import ClosedUser, OpenDriver, PlanShape

__all__ = ["ClosedUser", "OpenDriver", "PlanShape"]
