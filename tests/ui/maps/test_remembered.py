"""The projection methods the maps offer, read from the plugin registry when asked."""

from explorer import plugins
from explorer.ui.maps import remembered


def test_projection_methods_are_read_from_the_registry_each_time():
    before = remembered.projection_methods()
    assert "identity" not in before.values() and "pca" in before.values()
    spec = plugins.Contribution(kind="projection", name="later", label="Later",
                                target="explorer.compute.projection.pca:fit")
    plugins.registry().add(spec, plugins.Origin("later-plugin", "1", "later", False))
    try:
        assert remembered.projection_methods()["Later"] == "later"
        assert remembered.method_title("later") == "Later"
    finally:
        plugins.reload()
    assert "Later" not in remembered.projection_methods() and remembered.method_title("later") == ""
