from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=200)
    # A default the database keeps, so writes made without an author (by version 1, replayed
    # after a low-downtime migration's cutover) get it too.
    author = models.CharField(max_length=100, default="anonymous", db_default="anonymous")
