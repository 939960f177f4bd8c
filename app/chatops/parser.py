"""A comment in, a value out: a command to run, a reply to post, or nothing.

Pure, like Atlantis' comment parser: no I/O, no permissions (those are checked on
the value this returns, before anything runs). The grammar:

    /promote [PERCENT|full|ENVIRONMENT] [MODEL] [--env NAME]
    /rollback [MODEL] [--env NAME]
    /canary PERCENT [MODEL] [--env NAME]
    /status [MODEL] [--env NAME]
    /retrain [MODEL] [--reason TEXT]
    /lock [MODEL] [--reason TEXT]      /unlock [MODEL]
    /help [COMMAND]

Without ``--env`` a command acts where the model last moved (the environment with a
canary running, else the one changed most recently). Only the first line that starts with the prefix counts, and only
a line GitHub shows as plain top-level text (:mod:`.markdown`, a CommonMark parser):
code, quotes (lazy continuation lines included), HTML comments, lists and link text
never do (quoting someone's `/rollback` must not roll back). Bots are ignored. Anything that looks like one of our commands but is not quite right gets
a reply that says what to write instead; anything else is not for us.
"""

from __future__ import annotations

import difflib
import re
import shlex
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from mlpipex.app.chatops.markdown import command_lines

__all__ = ["COMMANDS", "Command", "Reply", "help_text", "may_hold_command", "parse"]

MAX_LINE = 500  # a longer "command" is not one anybody typed
MAX_BODY = 65_536  # GitHub's limit on a comment: anything longer did not come from GitHub
MAX_REASON = 300
_MAX_PREFIX = 20  # chatops.prefix is at most 20 characters (the config schema)
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$")  # model and environment names (DNS-label-like)
_PERCENT = re.compile(r"^([0-9]{1,3})%?$")

# command → (usage, what it does)
COMMANDS: dict[str, tuple[str, str]] = {
    "promote": ("[PERCENT|full|ENVIRONMENT] [MODEL] [--env NAME]",
                "move the canary to the next step (or PERCENT, or 100%), or promote into ENVIRONMENT under its rules"),
    "rollback": ("[MODEL] [--env NAME]", "return all traffic to the previous model"),
    "canary": ("PERCENT [MODEL] [--env NAME]", "set the canary's traffic share"),
    "status": ("[MODEL] [--env NAME]", "what serves where, the traffic split and the recent actions"),
    "retrain": ("[MODEL] [--reason TEXT]", "open (or update) the retraining pull request"),
    "lock": ("[MODEL] [--reason TEXT]", "stop other commands from changing the model (in every environment)"),
    "unlock": ("[MODEL]", "release your lock"),
    "help": ("[COMMAND]", "this help"),
}  # fmt: skip
_OPTIONS = {
    "promote": {"--env"}, "rollback": {"--env"}, "canary": {"--env"}, "status": {"--env"},
    "retrain": {"--reason"}, "lock": {"--reason"}, "unlock": set(), "help": set(),
}  # fmt: skip


@dataclass(frozen=True)
class Command:
    name: str
    model: str | None = None
    env: str | None = None  # where the command acts (--env); None: the configured default
    percent: int | None = None  # promote/canary: the traffic share asked for
    target_env: str | None = None  # promote ENVIRONMENT: promote into that environment
    reason: str | None = None
    line: str = ""  # the command line as typed, for replies and the audit log


@dataclass(frozen=True)
class Reply:
    """Not a command we can run, but worth an answer (help, a typo, a bad argument)."""

    text: str


def help_text(prefix: str = "/", command: str | None = None) -> str:
    if command in COMMANDS:
        usage, what = COMMANDS[command]
        return f"`{prefix}{command} {usage}`: {what}."
    lines = ["mlpipex commands:", ""]
    lines += [f"- `{prefix}{name} {usage}`: {what}" for name, (usage, what) in COMMANDS.items()]
    return "\n".join(lines)


def parse(body: str, *, prefix: str = "/", author_is_bot: bool = False,
          models: Sequence[str] = (), environments: Sequence[str] = ()) -> Command | Reply | None:  # fmt: skip
    """The command in a comment ``body``; ``models`` and ``environments`` (from the base
    branch's configuration) resolve the ambiguous `/promote production` and power "did you mean"."""
    if author_is_bot or not body or len(body) > MAX_BODY:
        return None
    line = _command_line(body, prefix)
    if line is None:
        return None
    word, _, rest = line[len(prefix) :].partition(" ")
    name = word.lower()
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.75)
        return Reply(f"Unknown command `{_quote(prefix + word)}`. Did you mean `{prefix}{close[0]}`?") if close else None
    if len(line) > MAX_LINE:
        return Reply(f"That command is longer than {MAX_LINE} characters; I did not read it.")
    try:
        tokens = shlex.split(rest, comments=False, posix=True)
    except ValueError as exc:  # an unbalanced quote
        return Reply(f"Could not read `{_quote(line)}`: {exc}. Usage: {help_text(prefix, name)}")
    return _build(name, tokens, line, prefix, models, environments)


def _command_line(body: str, prefix: str) -> str | None:
    for text in command_lines(body):
        if text.startswith(prefix) and len(text) > len(prefix) and text[len(prefix)].isalpha():
            return " ".join(text.split())  # one space between words, whatever was typed
    return None


def may_hold_command(body: str, *, author_is_bot: bool = False) -> bool:
    """Whether ``body`` could be a command (or a near miss worth a reply) under *any* prefix.

    The prefix lives in the base branch's configuration, which costs GitHub calls to
    read; this needs none, so chatter ("LGTM", "thanks!") is dropped before the App
    asks GitHub anything. False here means :func:`parse` returns None whatever the prefix."""
    if author_is_bot or not body or len(body) > MAX_BODY:
        return False
    for text in command_lines(body):
        first = text.split(maxsplit=1)[0]
        for cut in range(1, min(len(first), _MAX_PREFIX + 1)):
            word = first[cut:].lower()
            if first[cut].isalpha() and (word in COMMANDS or difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.75)):
                return True
    return False


def _build(name: str, tokens: list[str], line: str, prefix: str,
           models: Sequence[str], environments: Sequence[str]) -> Command | Reply:  # fmt: skip
    usage = help_text(prefix, name)
    options: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in ("-h", "--help"):
            return Reply(usage)
        if token.startswith("-"):
            key, eq, value = token.partition("=")
            if key not in _OPTIONS[name]:
                known = ", ".join(sorted(_OPTIONS[name])) or "none"
                return Reply(f"`{prefix}{name}` has no option `{_quote(key)}` (options: {known}). Usage: {usage}")
            if not eq:
                if i + 1 >= len(tokens):
                    return Reply(f"`{key}` needs a value. Usage: {usage}")
                i += 1
                value = tokens[i]
            if key in options:
                return Reply(f"`{key}` given twice. Usage: {usage}")
            options[key] = value
        else:
            positional.append(token)
        i += 1
    if name == "help":
        return Reply(help_text(prefix, positional[0].lstrip(prefix) if positional else None))
    env = options.get("--env")
    if env is not None and (problem := _check_name("environment", env, environments)):
        return Reply(problem)
    reason = options.get("--reason")
    if reason is not None and len(reason) > MAX_REASON:
        return Reply(f"The reason is longer than {MAX_REASON} characters; shorten it.")
    percent: int | None = None
    target_env: str | None = None
    if name in ("promote", "canary") and positional:
        first = positional[0]
        match = _PERCENT.match(first)
        if match:
            percent = int(match[1])
            if not 0 < percent <= 100:
                return Reply(f"`{_quote(first)}` is not a traffic share between 1 and 100. Usage: {usage}")
            positional.pop(0)
        elif name == "promote" and first.lower() == "full":
            percent = 100
            positional.pop(0)
        elif name == "promote" and first in environments and first not in models:
            target_env = first
            positional.pop(0)
    if name == "canary" and percent is None:
        return Reply(f"`{prefix}canary` needs a traffic share. Usage: {usage}")
    if len(positional) > 1:
        return Reply(f"Too many arguments: {' '.join(_quote(p) for p in positional[1:])}. Usage: {usage}")
    model = positional[0] if positional else None
    if model is not None and (problem := _check_name("model", model, models)):
        return Reply(problem)
    return Command(name, model=model, env=env, percent=percent, target_env=target_env, reason=reason, line=line)


def _check_name(kind: str, value: str, known: Sequence[str]) -> str | None:
    if not _NAME.match(value):
        return f"`{_quote(value)}` is not a valid {kind} name (lowercase letters, digits, `-`, `.`, `_`)."
    if known and value not in known:
        close = [k for k in known if k.startswith(value)] or difflib.get_close_matches(value, list(known), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else f" Known: {', '.join(f'`{k}`' for k in known)}."
        return f"There is no {kind} `{value}`.{hint}"
    return None


def _quote(text: str) -> str:
    """User text echoed inside a code span: no backticks to break out, no mentions, no
    control or bidi characters (they could make the reply say something else), bounded."""
    visible = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    return visible.replace("`", "'").replace("@", "@\u200b")[:80]
