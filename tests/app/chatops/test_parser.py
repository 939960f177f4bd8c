"""The comment parser, tested like Atlantis tests its own: every shape of comment, hostile ones included."""

from __future__ import annotations

import pytest

from mlpipex.app.chatops import COMMANDS, Command, Reply, help_text, parse

MODELS = ("fraud", "churn")
ENVS = ("staging", "production")


def p(body: str, **kwargs):
    return parse(body, models=kwargs.pop("models", MODELS), environments=kwargs.pop("environments", ENVS), **kwargs)


@pytest.mark.parametrize(("body", "expected"), [
    ("/promote", Command("promote", line="/promote")),
    ("/promote 50", Command("promote", percent=50, line="/promote 50")),
    ("/promote 50%", Command("promote", percent=50, line="/promote 50%")),
    ("/promote full fraud", Command("promote", model="fraud", percent=100, line="/promote full fraud")),
    ("/promote production", Command("promote", target_env="production", line="/promote production")),
    ("/promote production churn", Command("promote", model="churn", target_env="production", line="/promote production churn")),
    ("/promote fraud --env staging", Command("promote", model="fraud", env="staging", line="/promote fraud --env staging")),
    ("/promote --env=staging", Command("promote", env="staging", line="/promote --env=staging")),
    ("/rollback", Command("rollback", line="/rollback")),
    ("/rollback churn --env production", Command("rollback", model="churn", env="production", line="/rollback churn --env production")),
    ("/canary 10", Command("canary", percent=10, line="/canary 10")),
    ("/canary 25 fraud", Command("canary", model="fraud", percent=25, line="/canary 25 fraud")),
    ("/status", Command("status", line="/status")),
    ("/status fraud --env production", Command("status", model="fraud", env="production", line="/status fraud --env production")),
    ('/retrain fraud --reason "labels drifted in EU"', Command("retrain", model="fraud", reason="labels drifted in EU",
                                                               line='/retrain fraud --reason "labels drifted in EU"')),
    ("/lock", Command("lock", line="/lock")),
    ("/lock fraud --reason 'release freeze'", Command("lock", model="fraud", reason="release freeze", line="/lock fraud --reason 'release freeze'")),
    ("/unlock fraud", Command("unlock", model="fraud", line="/unlock fraud")),
    ("  /PROMOTE   50  ", Command("promote", percent=50, line="/PROMOTE 50")),  # case and spacing do not matter
])  # fmt: skip
def test_commands(body, expected):
    assert p(body) == expected


@pytest.mark.parametrize("body", [
    "", "LGTM", "looks good to me, ship it", "see /usr/bin/env", "/ promote", "/", "//promote", "/123",
    "/shrug", "/approve", "a sentence with /promote in the middle",
    "> /rollback\n> quoted from above", "```\n/rollback\n```", "    /rollback (indented code)", "~~~\n/promote\n~~~",
])  # fmt: skip
def test_not_for_us(body):
    assert p(body) is None


def test_only_the_first_command_line_counts():
    assert p("Thanks!\n/promote 50\n/rollback") == Command("promote", percent=50, line="/promote 50")
    assert p("```\n/rollback\n```\n/status") == Command("status", line="/status")
    assert p("> /rollback\n\n/status fraud") == Command("status", model="fraud", line="/status fraud")


# Item 4 of issue 12: what GitHub does not show as a plain line of text is never a command.
@pytest.mark.parametrize("body", [
    "<!-- /rollback -->",                                  # an HTML comment: invisible on GitHub
    "<!--\n/rollback --env production\n-->",             # ... over several lines
    "Looks good <!-- /rollback --> to me",                 # ... inline
    "> quoting the release notes\n/rollback",             # a lazy continuation line: shown inside the quote
    "> a\n> b\n/promote 100",
    "`/rollback`", "`/rollback` please",                   # a code span
    "[/rollback](https://example.com)",                    # link text
    "![/rollback](https://example.com/x.png)",             # image alt text
    "- /rollback", "1. /promote",                          # list items
    "# /rollback", "Title\n=====\n\n> /rollback",        # a heading
    "| a |\n|---|\n| /rollback |",                       # a table cell (GFM)
    "<details>\n/rollback\n</details>",                   # inside an HTML block
    "**/rollback**", "~~/rollback~~",                      # emphasis and strikethrough start with markup
    "\t/rollback", "```python\n/rollback\n",             # code (an unclosed fence runs to the end)
])  # fmt: skip
def test_hidden_or_quoted_commands_never_run(body):
    assert p(body) is None
    assert p(f"Thanks!\n\n{body}") is None


def test_what_github_shows_as_text_is_read_as_github_shows_it():
    assert p("&#47;status fraud") == Command("status", model="fraud", line="/status fraud")  # an entity renders as `/`
    assert p("Hi <!-- note -->\n/status") == Command("status", line="/status")  # the comment ends; a new line
    assert p("> quote\n\n/status") == Command("status", line="/status")  # a blank line ends the quote


@pytest.mark.parametrize(("body", "could"), [
    ("LGTM", False), ("thanks! see /usr/bin/env", False), ("> /rollback\nx", False), ("<!-- /rollback -->", False),
    ("/promote", True), ("!promote", True), ("mlpipex:rolback", True), ("/promot", True), ("/ promote", False),
])  # fmt: skip
def test_may_hold_command_needs_no_prefix_and_is_a_superset_of_parse(body, could):
    from mlpipex.app.chatops.parser import may_hold_command

    assert may_hold_command(body) is could
    for prefix in ("/", "!", "mlpipex:"):
        if parse(body, prefix=prefix) is not None:
            assert may_hold_command(body)


def test_bots_are_ignored():
    assert p("/rollback", author_is_bot=True) is None


def test_prefix_is_configurable():
    assert p("!promote 50", prefix="!") == Command("promote", percent=50, line="!promote 50")
    assert p("/promote 50", prefix="!") is None
    assert p("mlpipex:rollback", prefix="mlpipex:") == Command("rollback", line="mlpipex:rollback")


@pytest.mark.parametrize(("body", "says"), [
    ("/promot", "Did you mean `/promote`?"),
    ("/rolback fraud", "Did you mean `/rollback`?"),
    ("/canary", "needs a traffic share"),
    ("/canary 0", "not a traffic share between 1 and 100"),
    ("/canary 101", "not a traffic share between 1 and 100"),
    ("/promote 50 fraud churn", "Too many arguments: churn"),
    ("/promote frod", "There is no model `frod`. Did you mean `fraud`?"),
    ("/promote --env prod", "There is no environment `prod`. Did you mean `production`?"),
    ("/rollback --force", "has no option `--force`"),
    ("/rollback --env", "`--env` needs a value"),
    ("/rollback --env staging --env production", "given twice"),
    ("/retrain --reason", "`--reason` needs a value"),
    ('/retrain --reason "unterminated', "Could not read"),
    ("/status Fraud!", "not a valid model name"),
    ("/promote --help", "`/promote [PERCENT|full|ENVIRONMENT] [MODEL] [--env NAME]`"),
])  # fmt: skip
def test_replies_that_say_what_to_write(body, says):
    reply = p(body)
    assert isinstance(reply, Reply), reply
    assert says in reply.text


def test_help():
    reply = p("/help")
    assert isinstance(reply, Reply) and all(f"/{name}" in reply.text for name in COMMANDS)
    assert p("/help rollback") == Reply(help_text("/", "rollback"))


@pytest.mark.parametrize("body", [
    "/promote " + "9" * 10_000,                        # huge argument
    "/retrain --reason " + "x" * 400,                  # reason over the limit
    "/status $(rm -rf /)",                             # shell: only ever a value, and not a valid name
    "/status `id`",
    "/status fraud; /rollback",
    "/rollback ../../etc/passwd",
    "/promote 50 @org/everyone",                       # a mention smuggled into a reply
    "/status \x00\x1b[31mred",
    "/status " + "\u202e" + "dne",                    # bidi override
    "/promote 1e3", "/promote -5", "/canary 50.5", "/canary ５０",  # not integers 1..100 (fullwidth digits too)
])  # fmt: skip
def test_hostile_input_never_becomes_a_command_and_never_echoes_raw(body):
    result = p(body)
    assert not isinstance(result, Command), result
    if isinstance(result, Reply):
        assert "@org" not in result.text  # a reply never pings anyone
        assert len(result.text) < 1200
        assert not any(c in result.text for c in "\x00\x1b\u202e")


def test_unknown_names_are_accepted_when_the_config_is_not_known():
    assert p("/status anything", models=(), environments=()) == Command("status", model="anything", line="/status anything")


def test_an_environment_named_like_a_model_stays_a_model():
    both = parse("/promote fraud", models=("fraud",), environments=("fraud",))
    assert both == Command("promote", model="fraud", line="/promote fraud")


@pytest.mark.parametrize("body", [
    ">" * 5000 + " /rollback", "[" * 20000 + "/rollback", "*a " * 20000, "`" * 20000, "<!--" * 10000,
    "".join("  " * i + "- x\n" for i in range(300)), "[a](b) " * 9000, "&#47;" * 10000, "/rollback\n" + "x" * 70_000,
])  # fmt: skip
def test_pathological_markdown_is_parsed_quickly_and_runs_nothing(body):
    import time

    from mlpipex.app.chatops.parser import may_hold_command

    start = time.perf_counter()
    assert p(body) is None and not (may_hold_command(body) and isinstance(p(body), Command))
    # A guard against super-linear parsing, not a benchmark: the worst of these takes ~0.3 s (0.8 s
    # at GitHub's 65,536-character cap) on an idle 2-core machine; quadratic parsing takes minutes.
    assert time.perf_counter() - start < 15.0
