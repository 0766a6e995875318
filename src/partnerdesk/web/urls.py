from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from partnerdesk.web import (
    attachment_views,
    csp_views,
    dashboard_views,
    operator_views,
    signin_views,
    sla_views,
    staff_views,
    support_views,
    views,
)

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("language/", views.set_language, name="set_language"),
    path("login/", signin_views.PortalLoginView.as_view(), name="login"),
    path("login/microsoft/", signin_views.microsoft_start, name="microsoft_start"),
    path("login/microsoft/callback/", signin_views.microsoft_callback, name="microsoft_callback"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            success_url=reverse_lazy("web:password_reset_done"),
            email_template_name="registration/password_reset_email.txt",
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("web:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("benefits/technical/", views.technical_benefits, name="benefits"),
    path("benefits/technical/<int:pk>/", views.benefit_detail, name="benefit_detail"),
    path("benefits/technical/<int:pk>/activate/", views.benefit_activate, name="benefit_activate"),
    path(
        "benefits/technical/<int:pk>/statement/",
        views.benefit_statement_download,
        name="benefit_statement",
    ),
    path("support/requests/", support_views.request_list, name="requests"),
    path("support/requests/export/", support_views.request_export, name="requests_export"),
    path("support/requests/new/", support_views.request_new, name="request_new"),
    path("support/requests/new/plans/", support_views.request_plans, name="request_plans"),
    path("support/requests/<int:pk>/", support_views.request_detail, name="request_detail"),
    path(
        "support/requests/<int:pk>/withdraw/",
        support_views.request_withdraw,
        name="request_withdraw",
    ),
    path("support/requests/<int:pk>/notes/", support_views.request_note, name="request_note"),
    path(
        "support/requests/<int:pk>/attachments/",
        attachment_views.attachments_add,
        name="request_attachments_add",
    ),
    path(
        "support/requests/<int:pk>/attachments/<int:attachment_id>/",
        attachment_views.attachment_download,
        name="request_attachment",
    ),
    path("staff/", operator_views.staff_home, name="staff_home"),
    path("staff/exports/ledger/", operator_views.ledger_export, name="staff_ledger_export"),
    path("staff/exports/requests/", operator_views.requests_export, name="staff_requests_export"),
    path("staff/requests/", staff_views.queue, name="staff_queue"),
    path("staff/sla/", sla_views.sla_report, name="staff_sla"),
    path("staff/requests/<int:pk>/", staff_views.request_detail, name="staff_request"),
    path("staff/requests/<int:pk>/pick-up/", staff_views.pick_up, name="staff_pick_up"),
    path("staff/requests/<int:pk>/close/", staff_views.close, name="staff_close"),
    path("staff/requests/<int:pk>/assign/", staff_views.assign, name="staff_assign"),
    path("staff/requests/<int:pk>/time/", staff_views.log_time, name="staff_time"),
    path("benefits/plans/", views.plan_comparison, name="plans"),
    path("csp/customers/", csp_views.customers, name="csp_customers"),
    path("csp/customers/<int:pk>/", csp_views.service_management, name="csp_customer"),
    path("csp/customers/<int:pk>/requests/new/", csp_views.new_request, name="csp_request_new"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("notices/", dashboard_views.notices, name="notices"),
]
