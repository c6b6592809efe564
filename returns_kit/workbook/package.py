"""Find the parts of an .xlsx the way calamine (0.36) finds them: what is checked is what it reads.

calamine looks a part up by name ignoring ASCII case and taking ``\\`` for ``/`` (when two
members match, the later wins); finds the workbook from the first relationship of
``_rels/.rels`` whose type is officeDocument, reading ``workbook.xml`` and
``_rels/workbook.xml.rels`` in that relationship's folder, whatever the file is called; and
places each sheet at its relationship's target: an absolute target ("/xl/...") from the root,
any other joined to the workbook's folder, never normalised ("../" and "./" stay as written,
and so find nothing). Excel opens such workbooks too.

Where calamine's choice is narrow and ours would need its exact rules (which officeDocument
relationship, which id attribute of a sheet), every candidate is taken instead: measuring a
part calamine will not read costs a little time, missing one it will read could abort the
process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

#: The relationship types of the workbook part (transitional, strict, Microsoft's), all of which
#: end so; calamine accepts a fixed few of them, and any other ending names no workbook.
_OFFICE_DOCUMENT = "relationships/officeDocument"
_VBA_PROJECT = "/vbaProject"
#: More sheets than any workbook has; past them, sheets are measured but not named.
_MAX_SHEETS = 10_000

Parse = Callable[[str, Callable[[str, dict[str, str]], None]], None]


def part_key(name: str) -> str:
    """A member's name as calamine compares names: ``\\`` as ``/``, ASCII letters in lower case."""
    return name.replace("\\", "/").translate(_ASCII_LOWER)


@dataclass
class Package:
    """The parts of an .xlsx that calamine reads, by member name as stored in the zip."""

    #: workbook parts (``.../workbook.xml``) calamine may read
    workbooks: list[str] = field(default_factory=list)
    #: (sheet name, member) for each sheet of each workbook part, in workbook order (the
    #: first 10,000: a hostile workbook.xml could name millions)
    sheets: list[tuple[str, str]] = field(default_factory=list)
    #: every member some sheet points at, however many sheets there are
    parts: set[str] = field(default_factory=set)
    #: a member is a VBA project, or a relationship points at one
    macros: bool = False
    #: a binary workbook part (.xlsb's workbook.bin) sits where calamine looks for the workbook
    binary: bool = False


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _relationships(parse: Parse, member: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []

    def on_element(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "Relationship":
            found.append(attrs)

    parse(member, on_element)
    return found


def read_package(members: dict[str, str], parse: Parse) -> Package:
    """The workbook and sheet parts of a package whose members are ``members`` (:func:`part_key`
    of each name -> the name as stored); ``parse(name, on_start_element)`` streams a member
    through an XML parser (with namespaces, "uri}local" tags)."""
    package = Package(macros=any(key.rpartition("/")[2] == "vbaproject.bin" for key in members))
    folders: list[str] = []
    root_rels = members.get("_rels/.rels")
    if root_rels is not None:
        for rel in _relationships(parse, root_rels):
            if rel.get("Type", "").endswith(_OFFICE_DOCUMENT) and "Target" in rel:
                folder = rel["Target"].removeprefix("/").rpartition("/")[0]
                if folder not in folders:
                    folders.append(folder)
    elif "xl/workbook.xml" in members:
        # calamine cannot open this (it needs _rels/.rels), but the file is plainly meant
        # as a workbook: let calamine say it is damaged rather than call it a Word file.
        folders.append("xl")
    for folder in folders:
        workbook = members.get(part_key(_join(folder, "workbook.xml")))
        if workbook is None:
            package.binary = package.binary or part_key(_join(folder, "workbook.bin")) in members
            continue
        package.workbooks.append(workbook)
        _read_workbook(package, members, parse, folder, workbook)
    return package


def _read_workbook(
    package: Package, members: dict[str, str], parse: Parse, folder: str, workbook: str
) -> None:
    sheets: list[tuple[str, list[str]]] = []

    def on_sheet(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "sheet":
            # calamine takes r:id or relationships:id as written; any attribute named id
            # (whatever its prefix) covers both.
            ids = [value for key, value in attrs.items() if _local(key) == "id"]
            sheets.append((attrs.get("name", ""), ids))

    parse(workbook, on_sheet)
    targets: dict[str, str] = {}
    rels = members.get(part_key(_join(folder, "_rels/workbook.xml.rels")))
    if rels is not None:
        for rel in _relationships(parse, rels):
            if rel.get("Type", "").endswith(_VBA_PROJECT):
                package.macros = True
            if "Id" in rel and "Target" in rel:
                # calamine keeps the last of two relationships with one id.
                targets[rel["Id"]] = rel["Target"]
    seen = set(package.sheets)  # a set: a hostile workbook may list a million sheets
    for name, ids in sheets:
        for rel_id in ids:
            target = targets.get(rel_id)
            if target is None:
                continue
            path = target[1:] if target.startswith("/") else _join(folder, target)
            member = members.get(part_key(path))
            if member is None:
                continue
            package.parts.add(member)
            if (name, member) not in seen and len(seen) < _MAX_SHEETS:
                seen.add((name, member))
                package.sheets.append((name, member))
