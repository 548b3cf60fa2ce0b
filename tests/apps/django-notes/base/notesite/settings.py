"""Settings of the notes site: a plain Django project configured from its environment,
as twelve-factor applications are: `DATABASE_URL` (PostgreSQL, MySQL) when it is set, else
an SQLite file."""
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("NOTES_SECRET_KEY", "insecure-test-key")
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.contenttypes", "notes"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "notesite.urls"
WSGI_APPLICATION = "notesite.wsgi.application"
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.config()}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("NOTES_DATABASE", str(BASE_DIR / "notes.sqlite3")),
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
APPEND_SLASH = False
