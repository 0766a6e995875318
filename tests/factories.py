import datetime

import factory
from django.contrib.auth.hashers import get_hasher, make_password
from django.utils import timezone

from partnerdesk.accounts.models import User
from partnerdesk.accounts.services import api_token_create
from partnerdesk.benefits.services import entitlements_sync
from partnerdesk.partners.models import (
    Competency,
    Customer,
    Membership,
    Organization,
    Program,
    SolutionArea,
)

PASSWORD = "correct horse battery staple"

# PBKDF2 takes most of a second a password on these machines (more under load), and a test
# that makes a hundred users would spend minutes on it: each password is hashed once per
# hasher and the encoded hash is reused (the salt is shared, which only a test can afford).
_HASHES: dict[tuple[str, str], str] = {}


def password_hash(raw: str) -> str:
    key = (raw, get_hasher().algorithm)
    if key not in _HASHES:
        _HASHES[key] = make_password(raw)
    return _HASHES[key]


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    partner_id = factory.Sequence(lambda n: f"{9000000 + n}")
    name = factory.Sequence(lambda n: f"Partner {n}")
    in_mpn = True
    in_csp = False


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@partner.example")
    name = factory.Faker("name")
    organization = factory.SubFactory(OrganizationFactory)

    @factory.post_generation
    def password(user, create, extracted, **kwargs):
        user.password = password_hash(extracted if extracted is not None else PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory, in_csp=True)
    name = factory.Sequence(lambda n: f"Customer {n}")
    tenant_id = factory.Sequence(lambda n: f"tenant-{n}")


def membership(
    organization: Organization,
    offer: str,
    competency: str | None = None,
    *,
    starts: datetime.date | None = None,
    ends: datetime.date | None = None,
    sync: bool = True,
    program: str = "mpn-2021",
    solution_area: str | None = None,
) -> Membership:
    today = timezone.localdate()
    created = Membership.objects.create(
        organization=organization,
        program=Program.objects.get(code=program),
        offer=offer,
        competency=Competency.objects.get(name=competency) if competency else None,
        solution_area=SolutionArea.objects.get(name=solution_area) if solution_area else None,
        starts=starts or today - datetime.timedelta(days=30),
        ends=ends or today + datetime.timedelta(days=335),
    )
    if sync:
        entitlements_sync(organization=organization)
    return created


def token_for(user: User) -> str:
    return api_token_create(user=user, name="test")


CLOUD = "Cloud Platform"
OTHER = "Data Analytics"


def activate(organization: Organization) -> None:
    """Activate every current entitlement of the organization, as an operator would."""
    from partnerdesk.benefits.activation import activation_complete, activation_request
    from partnerdesk.benefits.models import Entitlement

    admin = UserFactory(organization=organization, is_global_admin=True)
    operator = User.objects.filter(is_staff=True, organization=None).first() or UserFactory(
        organization=None, is_staff=True
    )
    for entitlement in Entitlement.objects.filter(organization=organization).current():
        outcome = activation_request(user=admin, entitlement_id=entitlement.pk)
        if outcome.activation is not None:
            activation_complete(activation_id=outcome.activation.pk, operator=operator)


def product(family: str, version: str = ""):
    from partnerdesk.support.models import Product

    return Product.objects.get(family=family, version=version)


def open_request(user: User, contract, *, title: str = "t", severity: str = "C"):
    """An on-premises request charged to ``contract``, with its IDs (first use included)."""
    from partnerdesk.support.services import SupportRequestDraft, support_request_create

    return support_request_create(
        user=user,
        draft=SupportRequestDraft(
            product_id=product("SQL Server", "2022").pk,
            severity=severity,
            title=title,
            description="d",
            contract_id=contract.contract_id,
            access_id=contract.access_id,
        ),
    )
