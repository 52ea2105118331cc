"""Migrations must not hold a long lock on a table that grows with traffic (issue 17).

An AST check over `upgrade()` of migrations/versions/*.py, no database needed. It flags, on the large
tables below, what takes ACCESS EXCLUSIVE or SHARE for as long as a scan, rewrite or index build
lasts: `op.create_index` without `postgresql_concurrently=True` inside
`op.get_context().autocommit_block()`, a unique constraint (an index built under lock), `add_column` of a
NOT NULL column without a constant `server_default` or with a volatile default, `alter_column` changing
a type or setting NOT NULL, foreign keys and checks without `postgresql_not_valid=True`, and raw
`op.execute` SQL doing the same or an UPDATE/DELETE with no WHERE. The recipes are in HACKING
"Migrations". A reviewer accepts a case knowingly with `# lock-ok: <reason>` on one of its lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"

# Tables that grow with every conversation, message, event or order (core/models). The others are
# configuration (stores, sites, queues, operators, policies, KB articles and words) and stay small.
LARGE_TABLES = frozenset({
    "ticket", "message", "note", "attachment", "event", "event_batch", "outbox", "processed_update",
    "dead_letter", "audit_log", "contact", "contact_identity", "mail_message", "mail_quarantine",
    "widget_receipt", "blob", "blob_chunk", "orders", "order_item", "order_transition", "ticket_rating",
    "article_feedback", "kb_miss", "sla_alert", "ticket_notice", "ticket_topic", "web_session",
    "contact_rate", "fsm_state",
})

# Migrations written before this check. Each either ran before any desk was deployed or created the
# tables it touches in the same revision; the ones that did lock a live table ran on desks of a few
# thousand rows, where the lock lasted well under a second. Never add to this list: a new migration
# follows the recipes or marks a line `# lock-ok: <reason>`.
ALLOWED = {
    "0001_foundation": "before any deployment; every table created empty here",
    "0002_support_bot": "before any deployment (one revision per area)",
    "0003_panel": "before any deployment (one revision per area)",
    "0004_orders": "before any deployment (one revision per area)",
    "0005_email": "before any deployment (one revision per area)",
    "0006_sla": "before any deployment; ticket backfill of SLA deadlines on empty desks",
    "0007_store_time_zone": "store only: a small table",
    "0008_operator_time_zone": "operator only: a small table",
    "0009_product_photo": "product only: a small table",
    "0010_quarantine_retry": "mail_quarantine columns on pilot desks of a few rows",
    "0011_supervised_runtime": "outbox/dead_letter columns on pilot desks; outbox is drained and short",
    "0012_mail_fingerprint": "mail_message column and index on pilot desks of a few thousand rows",
    "0013_contact_identities": "contact_identity created and filled here; pilot-sized contact table",
    "0014_channel_refs": "message/attachment refs moved on pilot desks of a few thousand messages",
    "0015_channel_by_adapter": "ticket.channel type widened on pilot desks",
    "0016_identity_blocked": "contact_identity column on pilot desks",
    "0017_store_widget": "new tables only, plus small ones",
    "0018_widget_visit_and_secret": "contact_identity.visit nullable; store_widget small",
    "0019_sites": "ticket.site_id/contact_identity.given_email on pilot desks",
    "0020_kb_search": "KB tables: small",
    "0021_kb_misses": "kb_miss created here",
    "0022_staff_group": "staff_group/ticket_topic created here",
    "0023_queue_names_and_assign": "ix_ticket_live_updated built on pilot desks in well under a second",
    "0024_blob_store": "blob/blob_chunk created here",
    "0025_kb_version": "kb_version created here; triggers on small KB tables",
}

MARKER = re.compile(r"#\s*lock-ok:\s*\S")
VOLATILE = re.compile(r"\b(random|gen_random_uuid|uuid_generate_v[14]|clock_timestamp|nextval|timeofday)\s*\(",
                      re.I)
SQL_CHECKS = (
    (re.compile(r"\bcreate\s+(unique\s+)?index\s+(?!concurrently)(if\s+not\s+exists\s+)?\w*\s*on\s+(only\s+)?"
                r"\"?(?P<t>\w+)", re.I), "CREATE INDEX without CONCURRENTLY"),
    (re.compile(r"\balter\s+table\s+(if\s+exists\s+)?(only\s+)?\"?(?P<t>\w+)\"?[^;]*\balter\s+column\s+\w+\s+"
                r"(set\s+data\s+)?type\b", re.I), "ALTER COLUMN ... TYPE (a rewrite)"),
    (re.compile(r"\balter\s+table\s+(if\s+exists\s+)?(only\s+)?\"?(?P<t>\w+)\"?[^;]*\bset\s+not\s+null\b", re.I),
     "SET NOT NULL (a scan under ACCESS EXCLUSIVE)"),
    (re.compile(r"\balter\s+table\s+(if\s+exists\s+)?(only\s+)?\"?(?P<t>\w+)\"?[^;]*\badd\s+(constraint\s+\w+\s+)?"
                r"(foreign\s+key|check|unique|primary\s+key)\b(?![^;]*\bnot\s+valid\b)", re.I),
     "ADD CONSTRAINT without NOT VALID"),
    (re.compile(r"\bupdate\s+(only\s+)?\"?(?P<t>\w+)\"?\s+(as\s+\w+\s+)?set\b(?![^;]*\bwhere\b)", re.I),
     "UPDATE of the whole table"),
    (re.compile(r"\bdelete\s+from\s+(only\s+)?\"?(?P<t>\w+)\"?(?![^;]*\bwhere\b)", re.I),
     "DELETE of the whole table"),
)


def _name(node: ast.AST) -> str:
    """`op.create_index` -> "create_index"; `op.get_context().autocommit_block` -> "autocommit_block"."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and _name(node.func) == "text" and node.args:
        return _literal(node.args[0])
    if isinstance(node, ast.JoinedStr):  # f-strings: the constant parts, placeholders as "x"
        return "".join(str(part.value) if isinstance(part, ast.Constant) else "x" for part in node.values)
    return None


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _arg(call: ast.Call, index: int, name: str) -> str | None:
    node = call.args[index] if len(call.args) > index else _kw(call, name)
    return _literal(node)


def _column_problem(column: ast.AST) -> str | None:
    if not isinstance(column, ast.Call):
        return None
    default = _kw(column, "server_default")
    text = _literal(default) if default is not None else None
    if text is not None and VOLATILE.search(text):
        return "add_column with a volatile server_default (a rewrite under ACCESS EXCLUSIVE)"
    nullable = _kw(column, "nullable")
    primary = _true(_kw(column, "primary_key"))
    if (primary or (isinstance(nullable, ast.Constant) and nullable.value is False)) and default is None:
        return "add_column NOT NULL without a constant server_default (fails or rewrites)"
    constant_call = isinstance(default, ast.Call) and _name(default.func) in ("false", "true", "null", "now")
    if default is not None and text is None and not constant_call:
        return "add_column with a server_default that is not a literal (may be volatile: a rewrite)"
    if any(isinstance(a, ast.Call) and _name(a.func) == "ForeignKey" for a in column.args):
        return "add_column with a ForeignKey (validated under lock; add the column, then a NOT VALID key)"
    return None


class _Inline(ast.NodeTransformer):
    """Module constants (`EMPTY = sa.text("'{}'")`) read as their value where a migration names them."""

    def __init__(self, constants: dict[str, ast.expr]) -> None:
        self.constants = constants

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return self.constants.get(node.id, node) if isinstance(node.ctx, ast.Load) else node


def _problems(call: ast.Call, in_autocommit: bool, new_tables: frozenset[str]) -> list[str]:
    # A table created earlier in the same upgrade() is empty: whatever it takes is over at once.
    large = LARGE_TABLES - new_tables
    op = _name(call.func)
    if op == "create_index":
        table = _arg(call, 1, "table_name")
        if table not in large:
            return []
        if not _true(_kw(call, "postgresql_concurrently")):
            return [f"create_index on {table} without postgresql_concurrently=True (SHARE lock for the build)"]
        if not in_autocommit:
            return [f"concurrent create_index on {table} outside op.get_context().autocommit_block()"]
        return []
    if op in ("create_unique_constraint", "create_primary_key"):
        table = _arg(call, 1, "table_name")
        return [f"{op} on {table}: builds an index under lock (build it concurrently, then ADD ... USING "
                "INDEX)"] if table in large else []
    if op == "add_column":
        table = _arg(call, 0, "table_name")
        column = call.args[1] if len(call.args) > 1 else _kw(call, "column")
        problem = _column_problem(column) if table in large and column is not None else None
        return [f"{problem} on {table}"] if problem else []
    if op == "alter_column":
        table = _arg(call, 0, "table_name")
        if table not in large:
            return []
        found = []
        if _kw(call, "type_") is not None:
            found.append(f"alter_column type_ on {table} (a rewrite under ACCESS EXCLUSIVE)")
        nullable = _kw(call, "nullable")
        if isinstance(nullable, ast.Constant) and nullable.value is False:
            found.append(f"alter_column nullable=False on {table} (a scan under ACCESS EXCLUSIVE)")
        if _kw(call, "server_default") is not None and VOLATILE.search(_literal(_kw(call, "server_default")) or ""):
            found.append(f"alter_column with a volatile server_default on {table}")
        return found
    if op == "create_foreign_key":
        source = _arg(call, 1, "source_table")
        tables = {source, _arg(call, 2, "referent_table")}
        if source not in new_tables and tables & LARGE_TABLES and not _true(_kw(call, "postgresql_not_valid")):
            return [f"create_foreign_key on {sorted(t for t in tables if t)} without postgresql_not_valid=True"]
        return []
    if op == "create_check_constraint":
        table = _arg(call, 1, "table_name")
        if table in large and not _true(_kw(call, "postgresql_not_valid")):
            return [f"create_check_constraint on {table} without postgresql_not_valid=True"]
        return []
    if op == "execute" and call.args:
        sql = _literal(call.args[0])
        if sql is None:
            return []
        found = []
        for pattern, what in SQL_CHECKS:
            for match in pattern.finditer(sql):
                table = match.group("t").lower()
                if table in large or (table == "x" and isinstance(call.args[0], ast.JoinedStr)):
                    found.append(f"op.execute: {what} on {table if table != 'x' else 'a table from a variable'}")
        if VOLATILE.search(sql) and re.search(r"\badd\s+column\b", sql, re.I):
            found.append("op.execute: ADD COLUMN with a volatile default (a rewrite)")
        return found
    return []


def lock_findings(source: str) -> list[str]:
    """Every unmarked long-lock operation in `upgrade()` of one migration's source, as "line: what"."""
    tree = ast.parse(source)
    lines = source.splitlines()
    constants = {target.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)}
    tree = _Inline(constants).visit(tree)
    new_tables = frozenset(name for node in ast.walk(tree) if isinstance(node, ast.Call)
                           and _name(node.func) == "create_table" and (name := _arg(node, 0, "table_name")))
    upgrade = next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"),
                   None)
    if upgrade is None:
        return []
    # Helpers called from upgrade() are module functions: check them as if inline.
    helpers = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name not in
               ("upgrade", "downgrade")}
    found: list[str] = []

    def marked(node: ast.Call) -> bool:
        return any(MARKER.search(lines[i - 1]) for i in range(node.lineno, (node.end_lineno or node.lineno) + 1))

    def visit(node: ast.AST, in_autocommit: bool, seen: frozenset[str]) -> None:
        if isinstance(node, ast.With | ast.AsyncWith):
            opens = any(isinstance(item.context_expr, ast.Call) and _name(item.context_expr.func) == "autocommit_block"
                        for item in node.items)
            for inner in node.body:
                visit(inner, in_autocommit or opens, seen)
            return
        if isinstance(node, ast.Call):
            if not marked(node):
                found.extend(f"{node.lineno}: {problem}" for problem in _problems(node, in_autocommit, new_tables))
            callee = node.func.id if isinstance(node.func, ast.Name) else None
            if callee in helpers and callee not in seen:
                for statement in helpers[callee].body:
                    visit(statement, in_autocommit, seen | {callee})
        for child in ast.iter_child_nodes(node):
            visit(child, in_autocommit, seen)

    for statement in upgrade.body:
        visit(statement, False, frozenset())
    return found


def test_no_new_migration_locks_a_large_table() -> None:
    report = {}
    for path in sorted(VERSIONS.glob("0*.py")):
        if path.stem in ALLOWED:
            continue
        if findings := lock_findings(path.read_text()):
            report[path.name] = findings
    assert report == {}, ("long locks on large tables; follow HACKING 'Migrations' or mark the line "
                          f"'# lock-ok: <reason>': {report}")


def test_the_allowlist_names_existing_migrations_with_a_reason() -> None:
    stems = {path.stem for path in VERSIONS.glob("0*.py")}
    assert set(ALLOWED) <= stems
    assert all(reason.strip() for reason in ALLOWED.values())


def test_the_allowlist_is_closed_at_0025() -> None:
    """Nothing after the head of the day the check arrived is excused wholesale."""
    assert max(ALLOWED) == "0025_kb_version"
    assert all(stem[:4] <= "0025" for stem in ALLOWED)


def test_the_check_sees_the_locks_the_old_migrations_took() -> None:
    """The allowlist is not decoration: the check does flag what the pre-check migrations did."""
    flagged = {path.stem for path in VERSIONS.glob("0*.py") if lock_findings(path.read_text())}
    assert {"0012_mail_fingerprint", "0023_queue_names_and_assign"} <= flagged
    assert "0025_kb_version" not in flagged


def _migration(body: str) -> str:
    indented = "\n".join("    " + line if line else line for line in body.strip("\n").splitlines())
    return f"import sqlalchemy as sa\nfrom alembic import op\n\n\ndef upgrade() -> None:\n{indented}\n"


@pytest.mark.parametrize("body", [
    'op.create_index("ix_message_x", "message", ["x"])',
    'op.create_index("ix_message_x", "message", ["x"], postgresql_concurrently=True)',
    'op.create_unique_constraint("uq_ticket_x", "ticket", ["x"])',
    'op.add_column("ticket", sa.Column("x", sa.Integer(), nullable=False))',
    'op.add_column("event", sa.Column("x", sa.Uuid(), server_default=sa.text("gen_random_uuid()")))',
    'op.add_column("contact", sa.Column("x", sa.BigInteger(), sa.ForeignKey("store.id")))',
    'op.alter_column("message", "body", type_=sa.Text())',
    'op.alter_column("ticket", "site_id", nullable=False)',
    'op.create_foreign_key("fk_ticket_site", "ticket", "site", ["site_id"], ["id"])',
    'op.create_check_constraint("ck_ticket_x", "ticket", "x > 0")',
    'op.execute("UPDATE ticket SET x = 0")',
    'op.execute(sa.text("CREATE INDEX ix_event_x ON event (x)"))',
    'op.execute("ALTER TABLE outbox ALTER COLUMN payload TYPE jsonb")',
    'op.execute("ALTER TABLE ticket ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES site (id)")',
    'op.execute("ALTER TABLE ticket ALTER COLUMN x SET NOT NULL")',
    'for table in ("ticket", "message"):\n    op.execute(f"UPDATE {table} SET x = 0")',
])
def test_long_locks_on_large_tables_are_flagged(body: str) -> None:
    assert len(lock_findings(_migration(body))) == 1, body


def test_helpers_called_from_upgrade_are_checked() -> None:
    source = _migration("helper()") + '\n\ndef helper() -> None:\n    op.create_index("ix_ticket_x", "ticket", ["x"])\n'
    assert lock_findings(source) == ['10: create_index on ticket without postgresql_concurrently=True (SHARE lock '
                                     'for the build)']


@pytest.mark.parametrize("body", [
    # the recipes of HACKING "Migrations"
    'with op.get_context().autocommit_block():\n'
    '    op.create_index("ix_message_x", "message", ["x"], postgresql_concurrently=True)',
    'op.add_column("ticket", sa.Column("x", sa.Integer(), nullable=True))',
    'op.add_column("ticket", sa.Column("x", sa.Integer(), nullable=False, server_default="0"))',
    'op.add_column("ticket", sa.Column("x", sa.Boolean(), nullable=False, server_default=sa.false()))',
    'op.add_column("ticket", sa.Column("at", sa.DateTime(timezone=True), nullable=False,\n'
    '                                  server_default=sa.text("now()")))',
    'op.create_foreign_key("fk_ticket_site", "ticket", "site", ["site_id"], ["id"], postgresql_not_valid=True)\n'
    'with op.get_context().autocommit_block():\n'
    '    op.execute("ALTER TABLE ticket VALIDATE CONSTRAINT fk_ticket_site")',
    'op.create_check_constraint("ck", "ticket", "x IS NOT NULL", postgresql_not_valid=True)\n'
    'with op.get_context().autocommit_block():\n'
    '    op.execute("ALTER TABLE ticket VALIDATE CONSTRAINT ck")\n'
    'op.alter_column("ticket", "x", nullable=False)  # lock-ok: the validated check spares the scan',
    'op.execute("UPDATE ticket SET x = 0 WHERE id BETWEEN 1 AND 10000")',
    'op.execute("ALTER TABLE ticket ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES site (id) NOT VALID")',
    # small tables are not checked, nor one created empty in the same revision
    'op.create_table("ticket_notice", sa.Column("id", sa.BigInteger(), primary_key=True))\n'
    'op.create_index("ix_ticket_notice_x", "ticket_notice", ["x"])',
    'op.create_index("ix_store_x", "store", ["x"])',
    'op.alter_column("queue", "name", type_=sa.Text())',
    # a reviewer's knowing yes
    'op.create_index("ix_ticket_x", "ticket", ["x"])  # lock-ok: partial index over a few live rows',
    'op.execute(  # lock-ok: ticket_notice is new in this revision\n    "UPDATE ticket_notice SET x = 0")',
])
def test_safe_forms_and_marked_lines_pass(body: str) -> None:
    assert lock_findings(_migration(body)) == []


def test_a_marker_needs_a_reason() -> None:
    assert lock_findings(_migration('op.create_index("ix_ticket_x", "ticket", ["x"])  # lock-ok:')) != []


def test_downgrade_is_not_checked() -> None:
    source = _migration("pass") + '\n\ndef downgrade() -> None:\n    op.alter_column("ticket", "x", type_=sa.Text())\n'
    assert lock_findings(source) == []
