"""Pages written at build time from the code: the CLI reference and the examples gallery.

A page that holds the line ``<!-- cli-reference -->`` gets, in its place, every command of
``keras_wgan.cli.build_parser()`` with its description and a table of its flags (their
help as ``--help`` prints it, defaults expanded). So the page cannot drift from the code:
a flag added, renamed or moved to another module shows up on the next build.
"""

import argparse
import ast
import pathlib

MARKER = "<!-- cli-reference -->"
GALLERY = "<!-- examples-gallery -->"
EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def _flag_rows(parser):
    formatter = parser._get_formatter()
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            metavar = ""
            if action.nargs != 0:
                metavar = " " + formatter._format_args(action, action.dest.upper())
            names = ", ".join(f"`{name}{metavar}`" for name in action.option_strings)
        else:
            names = f"`{formatter._format_args(action, action.dest)}`"
        help_text = formatter._expand_help(action) if action.help else ""
        rows.append(f"| {names} | {_cell(help_text)} |")
    return rows


def cli_markdown():
    """Markdown for every command of the keras-wgan parser and its flags."""
    from keras_wgan.cli import build_parser

    parser = build_parser()
    lines = ["## keras-wgan", "", "```text", parser.format_usage().strip(), "```", ""]
    if parser.description:
        lines += [_cell(parser.description), ""]
    lines += ["| flag | what |", "| --- | --- |", *_flag_rows(parser), ""]
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        lines += [f"## keras-wgan {name}", "", "```text", sub.format_usage().strip(), "```", ""]
        if sub.description:
            lines += [_cell(sub.description), ""]
        rows = _flag_rows(sub)
        if rows:
            lines += ["| flag | what |", "| --- | --- |", *rows, ""]
    return "\n".join(lines)


def gallery_markdown():
    """A section per examples/*.py: its docstring (what it shows, its full-size command,
    its time on 2 cores, its --smoke line), read without running the script."""
    lines = []
    for script in sorted(EXAMPLES.glob("*.py")):
        doc = ast.get_docstring(ast.parse(script.read_text())) or ""
        title, _, body = doc.partition("\n")
        lines += [f"## {script.stem}", "", f"**{title.strip()}** `examples/{script.name}`", ""]
        if body.strip():
            lines += ["```text", body.strip("\n"), "```", ""]
    return "\n".join(lines)


def on_page_markdown(markdown, page, config, files):  # mkdocs hook
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, cli_markdown())
    if GALLERY in markdown:
        markdown = markdown.replace(GALLERY, gallery_markdown())
    return markdown
