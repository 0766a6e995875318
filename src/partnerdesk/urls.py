from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _

from partnerdesk.api.api import api
from partnerdesk.api.fallback import unknown_endpoint

admin.site.site_header = _("partnerdesk operations")
admin.site.site_title = _("partnerdesk")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", unknown_endpoint),
    path("", include("partnerdesk.web.urls")),
]

# A failure no view handled: the busy page when the database was busy, else the error page.
handler500 = "partnerdesk.web.middleware.server_error"
