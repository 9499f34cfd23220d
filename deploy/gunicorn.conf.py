"""gunicorn for the case tracker (`gunicorn -c deploy/gunicorn.conf.py clinic.wsgi`), behind the buffering proxy of
deploy/nginx. Threaded workers (gthread): a request waiting on the database holds a thread, not a whole process.
Every value can be changed from the environment; docs/operations.md explains the sizing."""

import os

from clinic.logs import logging_config

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # nosec B104 - inside the container, behind the proxy
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request that takes longer than this is killed (and logged with its traceback); the proxy gives up first.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Restart each worker after this many requests (with jitter) so a slow leak cannot grow for ever.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Guard the header size here too; the proxy refuses larger ones first.
limit_request_line = 8190
limit_request_fields = 100
# The proxy's address sets X-Forwarded-*; the app reads the client address itself (TRUSTED_PROXY_COUNT).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs: the master's and the workers' lines in the same JSON (UTC) as the app's. The access log is the app's own
# `clinic.access` line (with the request id and user id), so gunicorn's is off.
accesslog = None
errorlog = "-"
logconfig_dict = logging_config(level=os.environ.get("LOG_LEVEL", "INFO"))

# Metrics from every worker at /metrics (prometheus_client's multiprocess mode): each worker writes its samples to
# files in PROMETHEUS_MULTIPROC_DIR, emptied when the master starts; a dead worker's live gauges are dropped.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server):
    if _metrics_dir:
        os.makedirs(_metrics_dir, exist_ok=True)
        for name in os.listdir(_metrics_dir):
            os.remove(os.path.join(_metrics_dir, name))


def child_exit(server, worker):
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
