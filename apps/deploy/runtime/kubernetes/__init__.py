"""The Kubernetes runtime provider (DEPLOY_PROVIDER=kubernetes, docs/kubernetes.md)."""

from .provider import KubernetesProvider

__all__ = ["KubernetesProvider"]
