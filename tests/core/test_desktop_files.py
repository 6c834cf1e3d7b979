"""The desktop entry and the session file type the .deb installs agree with the app."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

from explorer.core.session import SUFFIX

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def test_session_files_have_a_mime_type_the_desktop_entry_opens():
    tree = ET.parse(RESOURCES / "embedding-explorer-mime.xml")
    types = tree.getroot().findall(f"{MIME_NS}mime-type")
    assert len(types) == 1
    session = types[0]
    assert [g.get("pattern") for g in session.findall(f"{MIME_NS}glob")] == [f"*{SUFFIX}"]
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(RESOURCES / "embedding-explorer.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert session.get("type") in desktop["MimeType"].split(";")
    assert desktop["Exec"].split()[0] == "embedding-explorer" and "%F" in desktop["Exec"]
    assert (RESOURCES / "icons" / f"{desktop['Icon']}.svg").exists()
