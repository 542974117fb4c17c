"""The packetdrill lexer: script text to tokens, each with its line number.

The token classes follow packetdrill's ``lexer.l`` (a flex scanner): at each
position the longest match wins, and between matches of equal length the
earlier class in :data:`_PATTERNS` wins. Words are not split into keywords
here; the parser reads ``ack``, ``win`` or ``sackOK`` from a word's text.
Comments (``//`` to the end of the line, ``/* ... */``) and white space are
skipped. Anything else is a one-character punctuation token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["ScriptSyntaxError", "Token", "tokenize"]


class ScriptSyntaxError(Exception):
    """A script that does not parse: ``path:line: message``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its class, its text as written, and where it starts."""

    kind: str
    text: str
    line: int

    def __repr__(self) -> str:
        return f"{self.kind}({self.text!r})@{self.line}"


# Token classes in flex rule order (earlier wins a tie in length).
_PATTERNS: Final = (
    ("ELLIPSIS", re.compile(r"\.\.\.")),
    ("OPTION", re.compile(r"--[A-Za-z0-9_]+(?:=[^\s]*)?")),
    ("FLOAT", re.compile(r"-?[0-9]*\.[0-9]+")),
    ("INT", re.compile(r"-?[0-9]+")),
    ("HEX", re.compile(r"0x[0-9A-Fa-f]+")),
    ("WORD", re.compile(r"[A-Za-z0-9_]+")),
    ("STRING", re.compile(r'"(?:\\.|[^"\\])*"')),
    ("BACKQUOTE", re.compile(r"`(?:\\.|[^`\\])*`")),
    ("CODE", re.compile(r"%\{(?:[^}]|\}(?!%))*\}%")),
    ("IPV4", re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")),
)
_SPACE: Final = re.compile(r"[ \t\r\n\f\v]+")
_LINE_COMMENT: Final = re.compile(r"//[^\n]*")
_BLOCK_COMMENT: Final = re.compile(r"/\*(?:[^*]|\*(?!/))*\*/")


def tokenize(text: str, path: str = "<script>") -> list[Token]:
    """All tokens of ``text``, ending with an ``EOF`` token.

    Raises :class:`ScriptSyntaxError` for an unterminated comment, string or
    command.
    """
    tokens: list[Token] = []
    pos = 0
    line = 1
    n = len(text)
    while pos < n:
        m = _SPACE.match(text, pos) or _LINE_COMMENT.match(text, pos)
        if m is None and text.startswith("/*", pos):
            m = _BLOCK_COMMENT.match(text, pos)
            if m is None:
                raise ScriptSyntaxError(path, line, "unterminated /* comment")
        if m is not None:
            line += text.count("\n", pos, m.end())
            pos = m.end()
            continue
        best_kind, best_end = "", pos
        for kind, pattern in _PATTERNS:
            m = pattern.match(text, pos)
            if m is not None and m.end() > best_end:
                best_kind, best_end = kind, m.end()
        if not best_kind:
            ch = text[pos]
            if ch in '"`':
                what = "string" if ch == '"' else "command in backticks"
                raise ScriptSyntaxError(path, line, f"unterminated {what}")
            if text.startswith("%{", pos):
                raise ScriptSyntaxError(path, line, "unterminated %{ code }% block")
            best_kind, best_end = "PUNCT", pos + 1
        chunk = text[pos:best_end]
        tokens.append(Token(best_kind, chunk, line))
        line += chunk.count("\n")
        pos = best_end
    tokens.append(Token("EOF", "", line))
    return tokens
