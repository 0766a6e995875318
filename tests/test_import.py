"""`partnerdesk import-partners`: validate everything first, write all or nothing."""

import copy
import io
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Entitlement
from partnerdesk.core.limits import EMAIL_MAX, JSON_DEPTH_MAX, NAME_MAX
from partnerdesk.onboarding import reader, services
from partnerdesk.onboarding.reader import FileSource, MalformedJSON, SourceChanged
from partnerdesk.onboarding.writer import ImportWriter
from partnerdesk.partners.models import Customer, Membership, Organization
from tests.factories import OrganizationFactory, UserFactory
from tests.helpers import SCRIPT, console_script, process_env

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


# --- Deep JSON: refused with the file and the place, before json recurses --------------

DEPTH = 100_000


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("[" * DEPTH + "]" * DEPTH, 1, JSON_DEPTH_MAX + 1),
        (
            '{"organizations": [\n {"partner_id": "1", "name": '
            + "[" * DEPTH
            + "]" * DEPTH
            + "}]}",
            2,
            # The name sits inside the object, the array and the organization.
            len(' {"partner_id": "1", "name": ') + JSON_DEPTH_MAX - 3 + 1,
        ),
        (
            '{"organizations": [], "x": ' + '{"a": ' * DEPTH + "1" + "}" * DEPTH + "}",
            1,
            # Beside the organizations a value sits 1 deep: its 32nd object is too deep.
            len('{"organizations": [], "x": ') + len('{"a": ') * (JSON_DEPTH_MAX - 1) + 1,
        ),
    ],
    ids=["the document", "inside an organization", "beside the organizations"],
)
def test_deeply_nested_json_is_refused_naming_the_file_and_place(text, line, column, tmp_path):
    path = write(tmp_path, text)

    done = console_script("import-partners", str(path), "--no-progress")

    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert str(path) in done.stderr
    assert f"nested deeper than {JSON_DEPTH_MAX} levels" in done.stderr
    assert f"(line {line}, column {column})" in done.stderr
    assert "nothing was written" in done.stderr
    assert not Organization.objects.exists()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_the_depth_limit_is_exact_and_checked_before_the_schema(tmp_path, capsys):
    # The top-level object is 1 deep: beside the organizations a value may nest 31 more.
    at_the_limit = '{"organizations": [], "x": ' + nested(JSON_DEPTH_MAX - 1) + "}"
    with pytest.raises(CommandError, match="1 error"):
        run_import(write(tmp_path, at_the_limit), capsys)
    assert "x: " in capsys.readouterr().err  # the schema's refusal of an unknown key

    over = '{"organizations": [], "x": ' + nested(JSON_DEPTH_MAX) + "}"
    with pytest.raises(CommandError, match=f"nested deeper than {JSON_DEPTH_MAX} levels"):
        run_import(write(tmp_path, over), capsys)


def test_deep_json_in_a_later_organization_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(reader, "READ_SIZE", 4096)  # the deep one far past the first read
    data = many_organizations(300)
    text = json.dumps(data)[:-2] + ', {"partner_id": "X", "name": ' + nested(5000) + "}]}"
    before = snapshot()

    with pytest.raises(CommandError, match=r"is refused: .* \(line 1, column \d+\)"):
        run_import(write(tmp_path, text), capsys)

    assert snapshot() == before


# --- Control characters and lengths: refused with the record's path ---------------------

CONTROL_CASES = {
    "organizations[0].name": ((*ORG0, "name"), "Contoso\x00 Ltd", "U+0000"),
    "organizations[1].partner_id": (("organizations", 1, "partner_id"), "47\x0011002", "U+0000"),
    "organizations[0].program_contact.name": (
        (*ORG0, "program_contact"),
        {"name": "Ann\x1b[31m", "email": "ann@contoso.example"},
        "U+001B",
    ),
    "organizations[0].program_contact.email": (
        (*ORG0, "program_contact"),
        {"name": "Ann", "email": "ann\x07@contoso.example"},
        "U+0007",
    ),
    "organizations[0].users[0].name": ((*ORG0, "users", 0, "name"), "Ann\nLee", "U+000A"),
    "organizations[0].users[1].email": (
        (*ORG0, "users", 1, "email"),
        '"bob\x01"@contoso.example',  # a quoted local part: Django's validator lets it by
        "U+0001",
    ),
    "organizations[0].customers[0].name": (
        (*ORG0, "customers", 0, "name"),
        "Fab\x85rikam",
        "U+0085",
    ),
    "organizations[0].customers[0].tenant_id": (
        (*ORG0, "customers", 0, "tenant_id"),
        "3f2b\x7f0001",
        "U+007F",
    ),
    "organizations[0].memberships[0].competency": (
        (*ORG0, "memberships", 0, "competency"),
        "Cloud\x00Platform",
        "U+0000",
    ),
}


@pytest.mark.parametrize("path", list(CONTROL_CASES))
def test_control_characters_are_refused_at_the_path(path, tmp_path, capsys):
    where, value, code = CONTROL_CASES[path]
    before = snapshot()

    with pytest.raises(CommandError, match="nothing was written"):
        run_import(write(tmp_path, broken(lambda d: set_path(d, where, value))), capsys)

    err = capsys.readouterr().err
    assert f"{path}: Contains a control character ({code}) at position " in err
    assert snapshot() == before


def test_a_nul_byte_through_the_console_script(tmp_path):
    bad = write(tmp_path, broken(lambda d: set_path(d, (*ORG0, "name"), "Contoso\x00")))

    done = console_script("import-partners", str(bad), "--no-progress")

    assert done.returncode == 1
    assert (
        "organizations[0].name: Contains a control character (U+0000) at position 8." in done.stderr
    )
    assert "1 error in" in done.stderr and "nothing was written" in done.stderr


def test_a_tab_inside_a_name_is_kept(tmp_path, capsys):
    run_import(
        write(tmp_path, broken(lambda d: set_path(d, (*ORG0, "name"), "Contoso\tLtd"))), capsys
    )
    assert Organization.objects.get(partner_id="4711001").name == "Contoso\tLtd"


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        ((*ORG0, "name"), "n" * (NAME_MAX + 1), "organizations[0].name"),
        ((*ORG0, "users", 0, "name"), "n" * (NAME_MAX + 1), "organizations[0].users[0].name"),
        (
            (*ORG0, "customers", 0, "name"),
            "n" * (NAME_MAX + 1),
            "organizations[0].customers[0].name",
        ),
        (
            (*ORG0, "users", 0, "email"),
            "a" * (EMAIL_MAX - len("@contoso.example") + 1) + "@contoso.example",
            "organizations[0].users[0].email",
        ),
        (
            (*ORG0, "program_contact"),
            {"name": "n" * (NAME_MAX + 1), "email": "ann@contoso.example"},
            "organizations[0].program_contact.name",
        ),
    ],
)
def test_text_longer_than_the_model_takes_is_refused(where, value, path, tmp_path, capsys):
    with pytest.raises(CommandError, match="1 error"):
        run_import(write(tmp_path, broken(lambda d: set_path(d, where, value))), capsys)
    assert f"{path}: " in capsys.readouterr().err


def test_text_as_long_as_the_model_takes_goes_in(tmp_path, capsys):
    run_import(
        write(tmp_path, broken(lambda d: set_path(d, (*ORG0, "name"), "n" * NAME_MAX))), capsys
    )
    assert len(Organization.objects.get(partner_id="4711001").name) == NAME_MAX


# --- E-mail addresses: one person however the address is cased --------------------------


def test_an_address_cased_otherwise_is_the_stored_user(tmp_path, capsys):
    run_import(write(tmp_path, GOOD), capsys)
    shouting = broken(lambda d: set_path(d, (*ORG0, "users", 0, "email"), "  ANN@Contoso.EXAMPLE "))

    out, _ = run_import(write(tmp_path, shouting, "again.json"), capsys)

    assert "Users: 0 created, 0 updated, 3 unchanged" in out
    assert list(
        User.objects.filter(email__iexact="ann@contoso.example").values_list("email", flat=True)
    ) == ["ann@contoso.example"]


def test_a_user_stored_spelled_otherwise_is_matched_and_stored_normalized(tmp_path, capsys):
    run_import(write(tmp_path, GOOD), capsys)
    ann = User.objects.get(email="ann@contoso.example")
    # An account from before addresses were normalized (written around the manager).
    User.objects.filter(pk=ann.pk).update(email="Ann@Contoso.example")

    out, _ = run_import(write(tmp_path, GOOD, "again.json"), capsys)

    assert "Users: 0 created, 1 updated, 2 unchanged" in out
    assert User.objects.filter(email__iexact="ann@contoso.example").count() == 1
    assert User.objects.get(pk=ann.pk).email == "ann@contoso.example"
    out, _ = run_import(write(tmp_path, GOOD, "again.json"), capsys)
    assert "Nothing changed." in out


def test_a_user_of_another_organization_spelled_otherwise_is_refused(tmp_path, capsys):
    other = UserFactory(
        email="ann@contoso.example", organization=OrganizationFactory(partner_id="555")
    )
    User.objects.filter(pk=other.pk).update(email="ANN@contoso.example")
    before = snapshot()

    with pytest.raises(CommandError, match="nothing was written"):
        run_import(write(tmp_path, GOOD), capsys)

    err = capsys.readouterr().err
    assert (
        "organizations[0].users[0].email: this address already belongs to organization 555" in err
    )
    assert snapshot() == before


def test_two_users_differing_only_in_case_are_refused_with_both_paths(tmp_path, capsys):
    data = broken(lambda d: set_path(d, (*ORG0, "users", 1, "email"), "ANN@CONTOSO.example"))
    before = snapshot()

    with pytest.raises(CommandError, match="1 error"):
        run_import(write(tmp_path, data), capsys)

    err = capsys.readouterr().err
    assert (
        "organizations[0].users[1].email: duplicate e-mail address, "
        "also at organizations[0].users[0].email"
    ) in err
    assert snapshot() == before


def test_program_contact_addresses_are_checked_and_normalized(tmp_path, capsys):
    contact = {"name": "Ann", "email": "Ann@Contoso.EXAMPLE"}
    run_import(
        write(tmp_path, broken(lambda d: set_path(d, (*ORG0, "program_contact"), contact))), capsys
    )
    assert Organization.objects.get(partner_id="4711001").contact_email == "ann@contoso.example"

    contact = {"name": "Ann", "email": "not an address"}
    with pytest.raises(CommandError, match="1 error"):
        run_import(
            write(tmp_path, broken(lambda d: set_path(d, (*ORG0, "program_contact"), contact))),
            capsys,
        )
    assert "organizations[0].program_contact.email: " in capsys.readouterr().err


# --- Written in short transactions: others write meanwhile; a crash leaves whole rows ----


def start_import(path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(SCRIPT), "import-partners", str(path), "--no-progress", *args],
        env=process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_other_writers_get_the_lock_between_the_imports_transactions(tmp_path, transactional_db):
    total = 4000
    path = write(tmp_path, many_organizations(total))
    probe = OrganizationFactory(partner_id="P1")
    importing = start_import(path, "-v", "2")
    waits, counts = [], set()
    deadline = time.monotonic() + 150
    try:
        while importing.poll() is None:
            assert time.monotonic() < deadline, "the import did not end within 150 s"
            started = time.monotonic()
            with transaction.atomic():  # on SQLite: BEGIN IMMEDIATE, the write lock
                Organization.objects.filter(pk=probe.pk).update(name=f"probe {len(waits)}")
            waits.append(time.monotonic() - started)
            counts.add(Organization.objects.count() - 1)
            time.sleep(0.01)
        out, err = importing.communicate(timeout=10)
    finally:
        if importing.poll() is None:
            importing.kill()
            importing.wait()

    assert importing.returncode == 0, err
    assert f"Organizations: {total} created" in out
    transactions = int(re.search(r"Written in (\d+) transactions", out).group(1))
    assert transactions > 1
    # Seen half-way: each transaction was committed on its own.
    assert any(0 < count < total for count in counts), sorted(counts)
    # Short, not just several: the aim is 0.1 to 0.2 s; the bounds leave room for a busy
    # machine (one transaction of the whole file would be the whole writing).
    waits.sort()
    detail = f"longest waits {waits[-5:]}; {out.splitlines()[-1]}"
    assert len(waits) > 10, detail
    assert waits[len(waits) * 9 // 10] < 0.3 and waits[-1] < 2.0, detail


def test_a_killed_import_leaves_whole_organizations_and_running_it_again_completes_it(
    tmp_path, transactional_db
):
    total = 3000
    path = write(tmp_path, many_organizations(total))
    importing = start_import(path)
    deadline = time.monotonic() + 120
    try:
        while not Organization.objects.exists():
            assert importing.poll() is None, importing.communicate()[1]
            assert time.monotonic() < deadline, "nothing was written within 120 s"
            time.sleep(0.005)
    finally:
        importing.kill()  # SIGKILL: no handler runs, a transaction may be cut in half
        importing.communicate(timeout=10)

    written = Organization.objects.count()
    assert 0 < written < total, f"the kill did not land mid-way ({written} written)"
    # Every organization written is whole: memberships, users, entitlements derived.
    assert Membership.objects.count() == written
    assert User.objects.filter(organization__isnull=False).count() == 2 * written
    assert Entitlement.objects.values("organization").distinct().count() == written
    assert not Organization.objects.filter(entitlements_synced_on=None).exists()
    check = console_script("reconcile")
    assert check.returncode == 0, check.stdout + check.stderr

    again = console_script("import-partners", str(path), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert (
        f"Organizations: {total - written} created, 0 updated, {written} unchanged" in again.stdout
    )
    assert Organization.objects.count() == total
    assert User.objects.count() == 2 * total
    once_more = console_script("import-partners", str(path), "--no-progress")
    assert "Nothing changed." in once_more.stdout
    assert console_script("reconcile").returncode == 0


WRITES = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "BEGIN", "REPLACE")


def test_an_unchanged_reimport_writes_nothing_and_takes_no_lock(tmp_path, capsys):
    path = write(tmp_path, many_organizations(1500))
    run_import(path, capsys)

    with CaptureQueriesContext(connection) as queries:
        out, _ = run_import(path, capsys)

    assert "Nothing changed." in out
    written = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert written == []
    assert not [q["sql"] for q in queries if "FOR UPDATE" in q["sql"].upper()]


def test_a_file_changed_after_the_check_is_refused_with_nothing_written(
    tmp_path, capsys, monkeypatch
):
    path = write(tmp_path, GOOD)
    check = services.import_validate

    def check_then_change(**kwargs):
        checked = check(**kwargs)
        with path.open("a", encoding="utf-8") as other:
            other.write("\n")
        return checked

    monkeypatch.setattr(services, "import_validate", check_then_change)
    before = snapshot()

    with pytest.raises(
        CommandError, match="changed while it was being imported; nothing was written"
    ):
        run_import(path, capsys)

    assert snapshot() == before


def test_a_file_changed_while_it_is_written_stops_with_whole_organizations(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(reader, "READ_SIZE", 4096)
    total = 3000
    path = write(tmp_path, many_organizations(total))
    write_chunk = ImportWriter.write

    def write_then_change(self, items):
        write_chunk(self, items)
        with path.open("r+", encoding="utf-8") as other:  # same size, other content
            other.seek(path.stat().st_size - 100)
            other.write(other.read(1).swapcase())
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))

    monkeypatch.setattr(ImportWriter, "write", write_then_change)

    with pytest.raises(CommandError) as raised:
        run_import(path, capsys)

    message = str(raised.value)
    written = Organization.objects.count()
    assert 0 < written < total
    assert f"changed while it was being imported, after {written} organizations were written" in (
        message
    )
    assert Membership.objects.count() == written
    assert User.objects.count() == 2 * written


def test_a_write_the_database_refuses_is_reported_not_a_traceback(tmp_path, capsys, monkeypatch):
    total = 600
    path = write(tmp_path, many_organizations(total))
    check = services.import_validate

    def check_then_someone_writes(**kwargs):
        checked = check(**kwargs)
        OrganizationFactory(partner_id=f"I{total - 1:07d}")  # the last one, meanwhile
        return checked

    monkeypatch.setattr(services, "import_validate", check_then_someone_writes)

    with pytest.raises(CommandError, match="The database refused a write") as raised:
        run_import(path, capsys)

    written = Organization.objects.count() - 1
    assert 0 < written < total
    assert f"after {written} organizations were written, each whole" in str(raised.value)
    assert Membership.objects.count() == written


def test_an_organization_tenant_id_is_a_guid_stored_lowercased_and_kept_when_left_out(
    tmp_path, capsys
):
    bad = copy.deepcopy(GOOD)
    bad["organizations"][0]["tenant_id"] = "contoso.onmicrosoft.com"
    bad["organizations"][1]["tenant_id"] = "9188040d-6c67-4c5b-b112-36a304b66dad"
    before = snapshot()

    with pytest.raises(CommandError, match="nothing was written"):
        run_import(write(tmp_path, bad), capsys)

    err = capsys.readouterr().err
    assert "organizations[0].tenant_id: not a tenant ID: a GUID like" in err
    assert "organizations[1].tenant_id: this is the tenant of personal Microsoft accounts" in err
    assert snapshot() == before

    tenant = "3F2B8C1E-6A7D-4E55-9F0A-1B2C3D4E5F60"
    good = copy.deepcopy(GOOD)
    good["organizations"][0]["tenant_id"] = f" {tenant} "
    run_import(write(tmp_path, good, "good.json"), capsys)
    assert Organization.objects.get(partner_id="4711001").tenant_id == tenant.lower()
    assert Organization.objects.get(partner_id="4711002").tenant_id == ""

    # A file without the key (one written before it existed) leaves the tenant alone.
    out, _ = run_import(write(tmp_path, GOOD, "without.json"), capsys)
    assert "Nothing changed." in out
    assert Organization.objects.get(partner_id="4711001").tenant_id == tenant.lower()

    good["organizations"][0]["tenant_id"] = "0c9a7e52-1d3b-4f8e-a6b4-77c2d9e1f003"
    out, _ = run_import(write(tmp_path, good, "moved.json"), capsys)
    assert "Organizations: 0 created, 1 updated, 1 unchanged" in out
    assert (
        Organization.objects.get(partner_id="4711001").tenant_id
        == "0c9a7e52-1d3b-4f8e-a6b4-77c2d9e1f003"
    )
