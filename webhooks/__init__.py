"""Webhook ingress: verify each delivery, store it raw, answer the platform fast."""
