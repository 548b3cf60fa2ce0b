from django.urls import path

from notes import views

urlpatterns = [
    path("version", views.version),
    path("notes", views.notes),
]
