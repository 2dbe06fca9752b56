from django.urls import path

from sandbox import media, views

urlpatterns = [
    path(media.DOWNLOAD_PATH, views.media_download, name="sandbox-media-download"),
    path("<path:path>", views.graph, name="sandbox-graph"),
]
