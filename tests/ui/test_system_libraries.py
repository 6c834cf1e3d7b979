"""A desktop missing one of the xcb platform's libraries hears which package to install."""

from explorer.ui import app, system_libraries as sl


def test_a_missing_library_is_named_with_its_packages():
    def load(soname):
        if soname in ("libxcb-cursor.so.0", "libxcb-xkb.so.1"):
            raise OSError(f"{soname}: cannot open shared object file")
        return object()

    missing = sl.missing_libraries(load)
    assert [m.soname for m in missing] == ["libxcb-cursor.so.0", "libxcb-xkb.so.1"]
    message = sl.missing_message(missing)
    assert "sudo apt install libxcb-cursor0 libxcb-xkb1" in message
    assert "sudo dnf install xcb-util-cursor libxcb" in message


def test_only_an_x11_window_needs_them(monkeypatch):
    monkeypatch.setattr(sl.sys, "platform", "linux")
    assert sl.uses_xcb({"DISPLAY": ":0"})
    assert not sl.uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"})
    assert not sl.uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    assert sl.uses_xcb({"QT_QPA_PLATFORM": "xcb"})
    assert not sl.uses_xcb({})
    monkeypatch.setattr(sl.sys, "frozen", True, raising=False)  # the bundle carries them
    assert not sl.uses_xcb({"DISPLAY": ":0"})


def test_the_app_says_so_and_stops_before_qt_aborts(monkeypatch, capsys):
    cursor = sl.XCB_LIBRARIES[0]
    monkeypatch.setattr(app, "uses_xcb", lambda: True)
    monkeypatch.setattr(app, "missing_libraries", lambda: [cursor])
    monkeypatch.setattr(app, "create_app", lambda *a: (_ for _ in ()).throw(AssertionError))
    assert app.run_gui([]) == 1
    assert "sudo apt install libxcb-cursor0" in capsys.readouterr().err
