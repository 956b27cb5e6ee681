"""Holds only the file `locust -f` loads (see hanbit_locustfile.py)."""
