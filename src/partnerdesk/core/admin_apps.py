"""The operations console (Django's admin) as operators meet it: every section named in
their language, and the infrastructure (queues, task results, sign-in lockouts, groups and
permissions) kept for superusers.

``INSTALLED_APPS`` names these configs instead of the third-party apps' own, so their
sections get translated names without patching the packages.
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_rq.apps import DjangoRqAdminConfig
from django_tasks_db.apps import TasksAppConfig


class OperationsAdminConfig(AdminConfig):
    default_site = "partnerdesk.core.admin.OperationsAdminSite"


class TaskQueuesConfig(DjangoRqAdminConfig):
    verbose_name = _("Task queues (RQ)")

    def ready(self) -> None:
        super().ready()
        from django_rq.models import Dashboard

        Dashboard._meta.verbose_name = pgettext_lazy("admin model", "queue dashboard")
        Dashboard._meta.verbose_name_plural = pgettext_lazy("admin model", "queue dashboard")


class TaskResultsConfig(TasksAppConfig):
    verbose_name = _("Background tasks")

    def ready(self) -> None:
        super().ready()
        from django_tasks_db.models import DBTaskResult

        DBTaskResult._meta.verbose_name = pgettext_lazy("admin model", "task result")
        DBTaskResult._meta.verbose_name_plural = pgettext_lazy("admin model", "task results")


class SignInLockoutsConfig(AxesAppConfig):
    verbose_name = _("Sign-in attempts")
