from django.urls import path

from whatsapp.media.views import MediaFileView, MediaUploadView

urlpatterns = [
    path("media", MediaUploadView.as_view(), name="whatsapp-media"),
    path("media/<id:media_id>", MediaFileView.as_view(), name="whatsapp-media-file"),
]
