"""What pytest loads through isoscan's ``pytest11`` entry point, under the plugin name ``isoscan``.

It only names ``isoscan.plugin`` as a plugin, so that module is registered under its own name
whether pytest reaches it through the entry point or through ``-p isoscan.plugin`` (isoscan's
own command lines, a user's addopts): pytest registers a plugin name once and skips it the
second time, whereas one module registered under two names is an error. ``-p no:isoscan``
blocks this entry point and so the plugin, except where ``-p isoscan.plugin`` asks for it.
The plugin does nothing per test until one of its options is given.
"""

pytest_plugins = ["isoscan.plugin"]
