from django.urls import path

from whatsapp.account.views import AccountRefreshView, AccountView, BusinessProfileView, PhoneNumberListView

urlpatterns = [
    path("account", AccountView.as_view(), name="whatsapp-account"),
    path("account/refresh", AccountRefreshView.as_view(), name="whatsapp-account-refresh"),
    path("account/profile", BusinessProfileView.as_view(), name="whatsapp-business-profile"),
    path("phone-numbers", PhoneNumberListView.as_view(), name="whatsapp-phone-numbers"),
]
