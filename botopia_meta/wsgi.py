import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "botopia_meta.settings")
# Web limits for the database (botopia_meta/db_timeouts.py), whatever server runs us.
os.environ.setdefault("DB_PROCESS_KIND", "web")
application = get_wsgi_application()
