"""One Python file as the rules see it: its tree (or why it has none), its tokens' comments and
bracket balance, and each node's parent."""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from engine.validate.rules.comments import COMMENT_HINT, Comment
from engine.validate.rules.py_nodes import functions, name_of, real_statements

__all__ = ["PySource", "TokenScan"]

_ABSTRACT_DECORATORS = frozenset({"abstractmethod", "overload"})
_CLOSER_OF = {"(": ")", "[": "]", "{": "}"}


@dataclass
class TokenScan:
    """What one tokenize pass saw, up to the first bracket or indentation problem."""

    comments: list[Comment] = field(default_factory=list)
    # (line, what) of the first bracket that closes nothing or is never closed.
    unbalanced: tuple[int, str] | None = None
    # tokenize raises IndentationError for a dedent that matches no outer level.
    error: SyntaxError | None = None


class PySource:
    def __init__(self, text: str, path: str, original: str | None) -> None:
        self.text = text
        self.path = path
        self.original = original
        self.tree: ast.Module | None = None
        self.error: SyntaxError | None = None
        try:
            self.tree = ast.parse(text, filename=path)
        except (SyntaxError, ValueError) as exc:
            self.error = exc if isinstance(exc, SyntaxError) else SyntaxError(str(exc))

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @cached_property
    def original_tree(self) -> ast.Module | None:
        if self.original is None:
            return None
        try:
            return ast.parse(self.original)
        except (SyntaxError, ValueError):
            return None

    @cached_property
    def original_parses(self) -> bool:
        return self.original_tree is not None

    @cached_property
    def tokens(self) -> TokenScan:
        scan = TokenScan()
        stack: list[tuple[str, int]] = []
        lines = self.lines
        try:
            for tok in tokenize.generate_tokens(io.StringIO(self.text).readline):
                if tok.type == tokenize.COMMENT:
                    line, col = tok.start
                    if line == 1 and tok.string.startswith("#!"):
                        continue
                    if not COMMENT_HINT.search(tok.string):
                        continue
                    before = lines[line - 1][:col].strip() if line <= len(lines) else ""
                    scan.comments.append(
                        Comment(
                            line,
                            line,
                            tok.string.lstrip("#"),
                            bool(before),
                            False,
                            "" if before else "#",
                        )
                    )
                elif tok.type == tokenize.OP and tok.string in "([{":
                    stack.append((tok.string, tok.start[0]))
                elif tok.type == tokenize.OP and tok.string in ")]}":
                    if not stack or _CLOSER_OF[stack[-1][0]] != tok.string:
                        scan.unbalanced = (tok.start[0], f"`{tok.string}` closes nothing")
                        return scan
                    stack.pop()
        except tokenize.TokenError:
            if stack:
                opener, line = stack[-1]
                scan.unbalanced = (line, f"`{opener}` opened here is never closed")
        except SyntaxError as exc:
            scan.error = exc
        return scan

    @cached_property
    def comments(self) -> list[Comment]:
        return self.tokens.comments

    @cached_property
    def nodes(self) -> list[ast.AST]:
        return [] if self.tree is None else list(ast.walk(self.tree))

    @cached_property
    def parents(self) -> dict[int, ast.AST]:
        """Each node's parent, by id."""
        found: dict[int, ast.AST] = {}
        for node in self.nodes:
            for child in ast.iter_child_nodes(node):
                found[id(child)] = node
        return found

    def ancestors(self, node: ast.AST) -> list[ast.AST]:
        """From the nearest enclosing node outwards."""
        out: list[ast.AST] = []
        parent = self.parents.get(id(node))
        while parent is not None:
            out.append(parent)
            parent = self.parents.get(id(parent))
        return out

    @cached_property
    def abstract(self) -> set[int]:
        """ids of functions allowed to have no body: @abstractmethod, @overload, Protocol
        members."""
        allowed: set[int] = set()
        for node in self.nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = {name_of(d).rsplit(".", 1)[-1] for d in node.decorator_list}
                if names & _ABSTRACT_DECORATORS:
                    allowed.add(id(node))
            elif isinstance(node, ast.ClassDef):
                bases = {name_of(b).rsplit(".", 1)[-1] for b in node.bases}
                if "Protocol" in bases:
                    allowed.update(
                        id(s)
                        for s in node.body
                        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
                    )
        return allowed

    def in_abstract(self, node: ast.AST) -> bool:
        return any(id(p) in self.abstract for p in self.ancestors(node))

    @cached_property
    def emptied(self) -> dict[int, str]:
        """Functions (by id, with their qualified names) that had statements in the original
        and have none now."""
        if self.tree is None or self.original_tree is None:
            return {}
        before: Counter[str] = Counter()
        for name, fn in functions(self.original_tree):
            if real_statements(fn.body):
                before[name] += 1
        kept: Counter[str] = Counter()
        empty: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
        for name, fn in functions(self.tree):
            if real_statements(fn.body):
                kept[name] += 1
            else:
                empty.append((name, fn))
        return {id(fn): name for name, fn in empty if before[name] > kept[name]}
