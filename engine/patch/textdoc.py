"""A text file as lines plus their own line endings, so untouched lines round-trip byte for byte."""

from __future__ import annotations

from dataclasses import dataclass

# surrogateescape keeps undecodable bytes intact through decode/encode.
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"


@dataclass
class TextDoc:
    lines: list[str]
    endings: list[str]
    eol: str

    @classmethod
    def parse(cls, data: bytes) -> TextDoc:
        text = data.decode(_ENCODING, _ERRORS)
        parts = text.split("\n")
        tail = parts.pop()
        if "\r" not in text:
            # The common case, without a per-line loop.
            endings = ["\n"] * len(parts)
            if tail:
                parts.append(tail)
                endings.append("")
            return cls(parts, endings, "\n")
        lines: list[str] = []
        endings = []
        crlf = 0
        for part in parts:
            if part.endswith("\r"):
                lines.append(part[:-1])
                endings.append("\r\n")
                crlf += 1
            else:
                lines.append(part)
                endings.append("\n")
        if tail:
            lines.append(tail)
            endings.append("")
        eol = "\r\n" if crlf * 2 > len(parts) else "\n"
        return cls(lines, endings, eol)

    @property
    def final_newline(self) -> bool:
        # An empty file counts as ending in a newline: appending to it yields "x\n".
        return not self.endings or self.endings[-1] != ""

    def render(self) -> bytes:
        if len(self.lines) != len(self.endings):
            raise ValueError("TextDoc lines and endings differ in length")
        return "".join(map(str.__add__, self.lines, self.endings)).encode(_ENCODING, _ERRORS)

    def text_for_search(self) -> str:
        return "\n".join(self.lines)


def block_lines(block: str) -> list[str]:
    """Split a patch block into lines; one trailing newline ends the last line, it adds none."""
    if block == "":
        return []
    lines = block.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def leading_ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def rebase_indent(lines: list[str], target: str) -> list[str]:
    """Re-indent a block so its least-indented line sits at `target`; relative indents stay."""
    indents = [leading_ws(line) for line in lines if line.strip()]
    if not indents:
        return list(lines)
    common = indents[0]
    for ind in indents[1:]:
        while not ind.startswith(common):
            common = common[:-1]
    cut = len(common)
    return [target + line[cut:] if line.strip() else "" for line in lines]
