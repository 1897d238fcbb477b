"""Notices leaving the app: email copies of in-app notices through the configured SMTP server.

The notices themselves (who is told what, deduplicated) live in `catalog.notices`.
"""
