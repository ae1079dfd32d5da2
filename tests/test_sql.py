import pytest

from engine.sql.classify import looks_like_sql, looks_like_statement, sql_kind, sql_tables
from engine.sql.tokens import sql_tokens


def test_tokens_skip_comments_and_keep_parameters_and_quoted_names() -> None:
    tokens = sql_tokens('SELECT "order" -- why\nFROM t WHERE id = ?1 AND n <> :name')
    assert [t.kind for t in tokens] == [
        "word", "quoted", "word", "word", "word", "word", "op", "param", "word", "word", "op",
        "param",
    ]  # fmt: skip
    assert tokens[1].text == "order" and tokens[1].is_name and tokens[1].key == ""


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM users WHERE id = x",
        "INSERT OR IGNORE INTO notes (a) VALUES (x)",
        "REPLACE INTO t VALUES (1)",
        "UPDATE main.users SET name = x",
        "DELETE FROM sessions",
        "WITH recent (id) AS (SELECT id FROM t) SELECT * FROM recent",
        "select name from users where id = x",
    ],
)
def test_statement_heads_are_sql(text: str) -> None:
    assert looks_like_statement(text)


@pytest.mark.parametrize(
    "text",
    [
        "Select a file from the list: x",
        "Update the settings and try again",
        "delete from the cache",
        "SELECT 'from' AS word",
        "log: SELECT * FROM t",
    ],
)
def test_prose_and_partial_heads_are_not_statements(text: str) -> None:
    assert not looks_like_statement(text)


def test_the_finder_classifier_reads_kind_and_tables() -> None:
    assert looks_like_sql("pragma journal_mode = WAL")
    assert sql_kind("WITH a AS (SELECT 1) DELETE FROM t WHERE id IN a") == "delete"
    assert sql_tables("INSERT INTO notes SELECT * FROM drafts") == (["drafts"], ["notes"])
