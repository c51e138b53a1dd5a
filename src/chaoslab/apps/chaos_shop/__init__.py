"""Chaos Shop: seed 003's product catalog and order API (Flask + gunicorn + pg8000)."""
