from django.urls import path

from sandbox import views

urlpatterns = [path("<path:path>", views.graph, name="sandbox-graph")]
