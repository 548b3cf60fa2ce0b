"""The notes API: POST /notes adds one, GET /notes lists them, GET /version says which
release answers."""
from pathlib import Path

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import Note

VERSION = (Path(__file__).resolve().parent.parent / "VERSION").read_text().strip()


def version(request):
    return HttpResponse(VERSION, content_type="text/plain")


def describe(note):
    return {"id": note.id, "text": note.text}


@csrf_exempt
def notes(request):
    if request.method == "POST":
        note = Note.objects.create(text=request.POST["text"])
        return JsonResponse(describe(note), status=201)
    return JsonResponse({"notes": [describe(n) for n in Note.objects.order_by("id")]})
