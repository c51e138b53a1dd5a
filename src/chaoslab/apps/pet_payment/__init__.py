"""Pet payment API: seed 000's payments for pet adoptions (Flask + gunicorn + pg8000)."""
