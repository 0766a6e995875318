"""`partnerdesk import-partners`: validate everything first, write all or nothing."""

import copy
import io
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Entitlement
from partnerdesk.onboarding import reader
from partnerdesk.onboarding.reader import FileSource, MalformedJSON, SourceChanged
from partnerdesk.partners.models import Customer, Membership, Organization
from tests.factories import OrganizationFactory, UserFactory
from tests.helpers import console_script

GOOD = {
    "organizations": [
        {
            "partner_id": "4711001",
            "name": "Contoso Ltd",
            "programs": ["mpn", "csp"],
            "memberships": [
                {
                    "offer": "gold",
                    "competency": "Cloud Platform",
                    "starts": "2026-01-01",
                    "ends": "2027-12-31",
                },
                {"offer": "action_pack", "starts": "2026-01-01", "ends": "2027-12-31"},
            ],
            "users": [
                {
                    "email": "ann@contoso.example",
                    "name": "Ann Lee",
                    "account_type": "work",
                    "roles": ["global_admin"],
                },
                {"email": "Bob@Contoso.example", "name": "Bob", "account_type": "personal"},
            ],
            "customers": [{"name": "Fabrikam", "tenant_id": "3f2b-0001"}],
        },
        {
            "partner_id": "4711002",
            "name": "Litware",
            "programs": ["csp"],
            "users": [
                {
                    "email": "kim@litware.example",
                    "name": "Kim",
                    "account_type": "work",
                    "roles": ["admin_agent", "helpdesk_agent"],
                }
            ],
        },
    ]
}


def write(tmp_path: Path, data, name="partners.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def snapshot() -> dict:
    """Every row of every model the import could touch, to prove nothing was written."""
    models = [
        m for m in apps.get_models() if m._meta.app_label in {"accounts", "partners", "benefits"}
    ]
    return {m._meta.label: sorted(map(str, m.objects.values_list())) for m in models}


def run_import(path: Path, capsys) -> tuple[str, str]:
    call_command("import_partners", str(path), "--no-progress")
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_imports_everything_and_derives_entitlements(tmp_path, capsys):
    out, _ = run_import(write(tmp_path, GOOD), capsys)

    contoso = Organization.objects.get(partner_id="4711001")
    assert (contoso.name, contoso.programs) == ("Contoso Ltd", ["mpn", "csp"])
    assert contoso.memberships.count() == 2
    assert list(contoso.customers.values_list("name", flat=True)) == ["Fabrikam"]
    ann = User.objects.get(email="ann@contoso.example")
    assert (ann.organization, ann.roles, ann.account_type) == (contoso, ["global_admin"], "work")
    assert not ann.has_usable_password()
    bob = User.objects.get(email="bob@contoso.example")
    assert (bob.roles, bob.account_type) == ([], "personal")
    kim = User.objects.get(email="kim@litware.example")
    assert kim.roles == ["admin_agent", "helpdesk_agent"]
    assert {
        e.benefit.code: e.allowance for e in Entitlement.objects.filter(organization=contoso)
    } == {
        "product_support": 20,
        "cloud_support": None,
    }
    assert "Organizations: 2 created, 0 updated, 0 unchanged" in out
    assert "Users: 3 created, 0 updated, 0 unchanged" in out


def test_running_it_twice_changes_nothing(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    run_import(path, capsys)
    before = snapshot()

    out, _ = run_import(path, capsys)

    assert snapshot() == before
    assert "Organizations: 0 created, 0 updated, 2 unchanged" in out
    assert "Nothing changed." in out


def test_upsert_updates_by_partner_id_and_email(tmp_path, capsys):
    run_import(write(tmp_path, GOOD), capsys)
    changed = copy.deepcopy(GOOD)
    changed["organizations"][0]["name"] = "Contoso Limited"
    changed["organizations"][0]["users"][0]["roles"] = ["mpn_partner_admin"]
    changed["organizations"][0]["memberships"][0]["ends"] = "2028-06-30"

    out, _ = run_import(write(tmp_path, changed, "second.json"), capsys)

    assert Organization.objects.get(partner_id="4711001").name == "Contoso Limited"
    assert User.objects.get(email="ann@contoso.example").roles == ["mpn_partner_admin"]
    assert Membership.objects.filter(ends="2028-06-30").count() == 1
    assert Organization.objects.count() == 2
    assert "Organizations: 0 created, 1 updated, 1 unchanged" in out
    assert "Memberships: 0 created, 1 updated, 1 unchanged" in out


def broken(mutate) -> dict:
    data = copy.deepcopy(GOOD)
    mutate(data)
    return data


def set_path(data, path, value):
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value


ORG0 = ("organizations", 0)
ERROR_CASES = {
    "bad offer": (
        lambda d: set_path(d, (*ORG0, "memberships", 0, "offer"), "platinum"),
        "organizations[0].memberships[0].offer",
    ),
    "unknown competency": (
        lambda d: set_path(d, (*ORG0, "memberships", 0, "competency"), "Cloud Wizardry"),
        "organizations[0].memberships[0].competency",
    ),
    "missing field": (
        lambda d: set_path(d, ("organizations", 1, "name"), KeyError),
        "organizations[1].name",
    ),
    "missing partner id": (
        lambda d: set_path(d, (*ORG0, "partner_id"), KeyError),
        "organizations[0].partner_id",
    ),
    "duplicate email across organizations": (
        lambda d: set_path(d, ("organizations", 1, "users", 0, "email"), "ANN@contoso.example"),
        "organizations[1].users[0].email",
    ),
    "action pack with a competency": (
        lambda d: set_path(d, (*ORG0, "memberships", 1, "competency"), "Cloud Platform"),
        "organizations[0].memberships[1].competency",
    ),
    "gold without a competency": (
        lambda d: set_path(d, (*ORG0, "memberships", 0, "competency"), KeyError),
        "organizations[0].memberships[0].competency",
    ),
    "ends before it starts": (
        lambda d: set_path(d, (*ORG0, "memberships", 0, "ends"), "2025-01-01"),
        "organizations[0].memberships[0].ends",
    ),
    "bad date": (
        lambda d: set_path(d, (*ORG0, "memberships", 0, "starts"), "2026-02-30"),
        "organizations[0].memberships[0].starts",
    ),
    "unknown role": (
        lambda d: set_path(d, (*ORG0, "users", 0, "roles"), ["superhero"]),
        "organizations[0].users[0].roles[0]",
    ),
    "bad account type": (
        lambda d: set_path(d, (*ORG0, "users", 0, "account_type"), "guest"),
        "organizations[0].users[0].account_type",
    ),
    "bad email": (
        lambda d: set_path(d, (*ORG0, "users", 0, "email"), "not-an-address"),
        "organizations[0].users[0].email",
    ),
    "unknown program": (
        lambda d: set_path(d, (*ORG0, "programs"), ["mpn", "spn"]),
        "organizations[0].programs[1]",
    ),
    "duplicate partner id": (
        lambda d: set_path(d, ("organizations", 1, "partner_id"), "4711001"),
        "organizations[1].partner_id",
    ),
    "customers without csp": (
        lambda d: set_path(d, (*ORG0, "programs"), ["mpn"]),
        "organizations[0].customers",
    ),
    "unknown key": (
        lambda d: set_path(d, (*ORG0, "membership"), []),
        "organizations[0].membership",
    ),
    "no organizations list": (lambda d: d.pop("organizations"), "organizations"),
    "organizations not a list": (lambda d: d.update(organizations={}), "organizations"),
    "unknown top-level key": (lambda d: d.update(partners=[]), "partners"),
    "an organization that is not an object": (
        lambda d: d["organizations"].append("4711003"),
        "organizations[2]",
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_each_bad_record_is_reported_by_path_and_nothing_is_written(case, tmp_path, capsys):
    OrganizationFactory(partner_id="1000001", name="Already here")
    before = snapshot()
    mutate, path = ERROR_CASES[case]

    with pytest.raises(CommandError, match="nothing was written"):
        run_import(write(tmp_path, broken(mutate)), capsys)

    assert f"{path}: " in capsys.readouterr().err
    assert snapshot() == before


def test_every_error_in_the_file_is_reported_at_once(tmp_path, capsys):
    data = broken(
        lambda d: (
            set_path(d, (*ORG0, "memberships", 0, "offer"), "platinum"),
            set_path(d, ("organizations", 1, "users", 0, "roles"), ["nobody"]),
        )
    )
    with pytest.raises(CommandError, match="2 errors"):
        run_import(write(tmp_path, data), capsys)
    err = capsys.readouterr().err
    assert "organizations[0].memberships[0].offer" in err
    assert "organizations[1].users[0].roles[0]" in err


def test_an_email_of_another_organization_in_the_database_is_refused(tmp_path, capsys):
    UserFactory(email="ann@contoso.example", organization=OrganizationFactory(partner_id="555"))
    before = snapshot()

    with pytest.raises(CommandError):
        run_import(write(tmp_path, GOOD), capsys)

    err = capsys.readouterr().err
    assert "organizations[0].users[0].email: " in err and "555" in err
    assert snapshot() == before


def test_malformed_json_says_where(tmp_path, capsys):
    before = snapshot()
    with pytest.raises(CommandError, match=r"not valid JSON: .* line 2, column"):
        run_import(write(tmp_path, '{"organizations": [\n  {"partner_id": }]}'), capsys)
    assert snapshot() == before


def test_a_missing_file_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(CommandError, match="Cannot read"):
        run_import(tmp_path / "nope.json", capsys)


def test_the_console_script_exits_1_with_paths_and_writes_nothing(tmp_path):
    bad = write(tmp_path, broken(lambda d: set_path(d, (*ORG0, "memberships", 0, "offer"), "x")))

    done = console_script("import-partners", str(bad))

    assert done.returncode == 1
    assert "organizations[0].memberships[0].offer" in done.stderr
    assert "nothing was written" in done.stderr


def test_the_console_script_imports_with_progress_and_summary(tmp_path, transactional_db):
    done = console_script("import-partners", str(write(tmp_path, GOOD)))

    assert done.returncode == 0, done.stderr
    assert "2/2" in done.stderr  # the progress bar
    assert "Organizations: 2 created" in done.stdout
    assert Customer.objects.count() == 1


def test_a_document_that_is_not_an_object_is_reported_as_a_whole(tmp_path, capsys):
    with pytest.raises(CommandError, match="1 error"):
        run_import(write(tmp_path, "[]"), capsys)
    assert "$: " in capsys.readouterr().err


def test_standard_input_is_checked_then_written(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(GOOD)))

    call_command("import_partners", "-", "--no-progress")

    assert "Organizations: 2 created" in capsys.readouterr().out
    assert User.objects.count() == 3


def test_records_cut_by_the_read_window_are_read_whole(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(reader, "READ_SIZE", 7)
    run_import(write(tmp_path, json.dumps(GOOD, indent=2)), capsys)
    before = snapshot()

    out, _ = run_import(write(tmp_path, json.dumps(GOOD), "again.json"), capsys)

    assert snapshot() == before
    assert "Nothing changed." in out


def many_organizations(count: int) -> dict:
    return {
        "organizations": [
            {
                "partner_id": f"I{n:07d}",
                "name": f"Imported {n}",
                "programs": ["mpn"],
                "memberships": [
                    {"offer": "action_pack", "starts": "2026-01-01", "ends": "2027-12-31"}
                ],
                "users": [{"email": f"i{n}.{k}@import.example"} for k in range(2)],
            }
            for n in range(count)
        ]
    }


def test_an_error_in_a_later_chunk_writes_nothing_and_a_clean_file_goes_in_whole(tmp_path, capsys):
    data = many_organizations(2100)
    data["organizations"][2050]["users"][1]["email"] = "i3.0@import.example"
    before = snapshot()

    with pytest.raises(CommandError, match="1 error"):
        run_import(write(tmp_path, data), capsys)

    err = capsys.readouterr().err
    assert "organizations[2050].users[1].email: " in err
    assert "organizations[3].users[0].email" in err
    assert snapshot() == before

    data["organizations"][2050]["users"][1]["email"] = "i2050.1@import.example"
    out, _ = run_import(write(tmp_path, data), capsys)
    assert "Organizations: 2100 created" in out
    assert Membership.objects.count() == 2100
    assert Entitlement.objects.filter(organization__partner_id="I0002099").exists()
    assert not Organization.objects.filter(entitlements_synced_on=None).exists()
    out, _ = run_import(write(tmp_path, data), capsys)
    assert "Nothing changed." in out


MALFORMED = [
    '{"organizations": [\n  {"partner_id": }]}',
    '{"organizations": [{"name": "a"},\n\n {"name": tru}]}',
    '{"organizations": [1, 2,]}',
    '{"organizations": [1 2]}',
    '{"organizations": []}\n  x',
    '{"organizations" []}',
    "{organizations: []}",
    '{"organizations": [], }',
    "",
    '  \n {"organizations": [{"name": "no end}]}',
    '{"organizations": [123',
    "[1, 2",
]


@pytest.mark.parametrize("window", [1, 3, 1 << 20])
@pytest.mark.parametrize("text", MALFORMED)
def test_a_syntax_error_is_placed_as_json_places_it(text, window, monkeypatch):
    monkeypatch.setattr(reader, "READ_SIZE", window)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    source = FileSource(io.StringIO(text))

    with pytest.raises(MalformedJSON) as raised:
        list(source.organizations())

    error = expected.value
    assert (raised.value.message, raised.value.line, raised.value.column) == (
        error.msg,
        error.lineno,
        error.colno,
    )


def test_a_repeated_top_level_key_is_refused(tmp_path, capsys):
    text = '{"organizations": [],\n "organizations": []}'
    with pytest.raises(CommandError, match=r"not valid JSON: .*organizations.* line 2, column 2"):
        run_import(write(tmp_path, text), capsys)


def test_a_file_that_changes_between_the_check_and_the_writing_is_refused(tmp_path):
    path = write(tmp_path, GOOD)
    with path.open(encoding="utf-8") as stream:
        source = FileSource(stream)
        assert len(list(source.organizations())) == 2
        with path.open("a", encoding="utf-8") as other:
            other.write("\n")

        with pytest.raises(SourceChanged):
            list(source.organizations())
