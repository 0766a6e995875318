"""Background tasks: they only load ids and call a service."""

from django_tasks import task

from partnerdesk.benefits.activation import activation_complete
from partnerdesk.benefits.notifications import activation_notify


@task()
def complete_activation(activation_id: int) -> bool:
    return activation_complete(activation_id=activation_id)


@task()
def send_activation_notice(activation_id: int) -> int:
    return activation_notify(activation_id=activation_id)
